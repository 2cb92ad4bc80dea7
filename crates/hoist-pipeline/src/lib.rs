//! The pipeline, composed once: which project a command is about ([`project`]) and building it
//! ([`build`]: binaries and images in the content store). A command that needs "build, then
//! publish" calls this crate, never another command, and gets the result back as a value.

pub mod build;
pub mod project;

pub use build::{BuildError, Built, Observer, Quiet, Stage, Stamp, build};
pub use project::{Inferred, Project, ProjectError};
