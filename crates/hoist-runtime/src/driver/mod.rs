//! Replica drivers: how one replica is started, watched and stopped. `process` runs the binary
//! itself; the `container` driver (Docker Engine API) comes with the agent.

mod port;
pub mod process;

pub use port::{free_port, is_listening};
