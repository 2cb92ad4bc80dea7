//! The command line, as clap structs. Parsing only: no I/O happens here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// hoist: from Go source to a healthy, versioned deployment in one command.
#[derive(Debug, Parser)]
#[command(name = "hoist", version, about, propagate_version = true)]
pub struct Cli {
    /// Print debug diagnostics on stderr (or set HOIST_LOG).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented hoist.toml for the Go module in DIR.
    Init(InitArgs),
    /// Print the merged configuration (hoist.toml plus an environment overlay).
    Config(ConfigArgs),
    /// Build the Go binaries and the OCI image; print the image digest.
    Build(BuildArgs),
}

/// `hoist init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The Go module's directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The main package to build, e.g. `./cmd/server`, when the module has several.
    #[arg(long, value_name = "PKG")]
    pub main: Option<String>,
}

/// `hoist config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The directory holding hoist.toml.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// Print JSON instead of TOML.
    #[arg(long)]
    pub json: bool,
}

/// `hoist build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The directory holding hoist.toml (and, in it or above, go.mod).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// Build only these platforms (repeatable), instead of `build.platforms`.
    #[arg(long = "platform", value_name = "OS/ARCH")]
    pub platforms: Vec<String>,
    /// Where to write the image: `oci:DIR` (an OCI image layout) or `docker-archive:FILE`
    /// (one platform, for `docker load`/`podman load`). Repeatable.
    #[arg(long = "output", short = 'o', value_name = "KIND:PATH")]
    pub outputs: Vec<String>,
    /// Load the image into a local engine (its `load` command), tagged `NAME:VERSION` and `NAME:latest`.
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub load: Option<Engine>,
    /// Print a JSON summary on stdout instead of the digest.
    #[arg(long)]
    pub json: bool,
}

/// A local container engine to load images into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// `docker load` (dockerd).
    Docker,
    /// `podman load`.
    Podman,
}

impl Engine {
    /// The command that is run.
    pub fn program(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Podman => "podman",
        }
    }
}
