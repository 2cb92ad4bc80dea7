//! The pipeline, composed once: which project a command is about ([`project`]), building it
//! ([`build`]: binaries and images in the content store) and publishing it ([`publish`]: the
//! tag policy's tags and the push). A command that needs "build, then
//! publish" calls this crate, never another command, and gets the result back as a value.

pub mod build;
pub mod project;
pub mod publish;

pub use build::{BuildError, Built, Observer, Quiet, Stage, Stamp, build};
pub use project::{Inferred, Project, ProjectError};
pub use publish::{PublishError, Tags, Target, publish, publish_built};
