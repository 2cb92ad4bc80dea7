//! Replica drivers: how one replica is started, watched and stopped. `process` runs the binary
//! itself; `container` (Docker Engine API) runs the image.

mod port;
pub mod process;
pub mod procfs;

pub use port::{free_port, is_listening};
