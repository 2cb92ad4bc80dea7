//! Replica drivers: how one replica is started, watched and stopped. `process` runs the binary
//! itself; `container` runs the image in a container through the Docker Engine API.

pub mod container;
mod port;
pub mod process;
pub mod procfs;

pub use port::{free_port, is_listening};
