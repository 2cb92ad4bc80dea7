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
    /// Render Kubernetes manifests (YAML) for the app, its image pinned by digest.
    Render(RenderArgs),
    /// Write a Dockerfile and .dockerignore that build the same image with `docker build`.
    Dockerfile(DockerfileArgs),
    /// Push an OCI image layout to a registry; print the reference pinned by digest.
    Push(PushArgs),
    /// Pull an image from a registry into an OCI image layout.
    Pull(PullArgs),
    /// Show an image in a registry: platforms, manifests, config and sizes.
    Inspect(InspectArgs),
    /// Store credentials for a registry in docker's config.json.
    Login(LoginArgs),
    /// Remove stored credentials for a registry.
    Logout(LogoutArgs),
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
    /// Override one value, like `run.replicas=5` (repeatable; applied after `--env`).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub sets: Vec<String>,
    /// Print JSON instead of TOML.
    #[arg(long)]
    pub json: bool,
}

/// `hoist render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The directory holding hoist.toml.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// Override one value, like `run.replicas=5` (repeatable; applied after `--env`).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub sets: Vec<String>,
    /// The image to run: `NAME[:TAG]@sha256:DIGEST`, or only `sha256:DIGEST` (what `hoist
    /// build` prints) to use `image.repository`. Default: the last build of DIR and `--env`.
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// Write one file per object into DIR instead of a YAML stream on stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `hoist dockerfile`.
#[derive(Debug, Args)]
pub struct DockerfileArgs {
    /// The directory holding hoist.toml (the Go module's root, the build context).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Where to write Dockerfile and .dockerignore (default: DIR).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The Go release of the builder image, like `1.26.8` (default: the installed Go's).
    #[arg(long, value_name = "VERSION")]
    pub go_version: Option<String>,
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
    /// Push the image to `image.repository` (or `--repository`) with the tag policy's tags,
    /// and print the reference pinned by digest instead of the digest.
    #[arg(long)]
    pub push: bool,
    /// Where and how to push (with `--push`).
    #[command(flatten)]
    pub target: PushTargetArgs,
    /// Registry connection settings.
    #[command(flatten)]
    pub registry: RegistryArgs,
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

/// Where a push goes and what it is tagged (`hoist push`, `hoist build --push`).
#[derive(Debug, Args)]
pub struct PushTargetArgs {
    /// The repository to push to, instead of `image.repository`.
    #[arg(long, value_name = "REPO", env = crate::env_vars::HOIST_IMAGE_REPOSITORY)]
    pub repository: Option<String>,
    /// An extra tag to write (repeatable), beside the tag policy's.
    #[arg(long = "tag", short = 't', value_name = "TAG")]
    pub tags: Vec<String>,
}

/// How hoist connects to registries.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// A PEM file of extra certificate authorities to trust for registries.
    #[arg(long, value_name = "FILE", env = crate::env_vars::HOIST_REGISTRY_CA_FILE)]
    pub ca_file: Option<PathBuf>,
    /// A registry (`host[:port]`) that may be spoken to over plain http (repeatable);
    /// localhost and 127.0.0.0/8 always may.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
    /// Blob transfers to run at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub jobs: usize,
}

/// `hoist push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The OCI image layout to push (e.g. written by `hoist build --output oci:DIR`).
    pub layout: PathBuf,
    /// The directory holding hoist.toml (for `image.repository` and `image.tags`) and the git
    /// checkout the tag policy looks at.
    #[arg(long = "project", short = 'C', value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// Where and how to push.
    #[command(flatten)]
    pub target: PushTargetArgs,
    /// Registry connection settings.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Print a JSON summary (digest, references, counters) instead of the reference.
    #[arg(long)]
    pub json: bool,
}

/// `hoist pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The image, e.g. `registry.example.com/group/app:v1` or `…@sha256:…`.
    pub reference: String,
    /// Where to write it: `oci:DIR`.
    #[arg(long, short = 'o', value_name = "oci:DIR")]
    pub output: String,
    /// Pull only these platforms of a multi-platform image (repeatable; default all).
    #[arg(long = "platform", value_name = "OS/ARCH")]
    pub platforms: Vec<String>,
    /// Registry connection settings.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Print a JSON summary instead of the digest.
    #[arg(long)]
    pub json: bool,
}

/// `hoist inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The image, e.g. `registry.example.com/group/app:v1`.
    pub reference: String,
    /// Registry connection settings.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Print JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// `hoist login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The registry, `host[:port]` (`docker.io` for Docker Hub).
    pub registry: String,
    /// The user name.
    #[arg(long, short = 'u')]
    pub username: String,
    /// Read the password (or access token) from stdin; it is never taken as an argument.
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// Registry connection settings.
    #[command(flatten)]
    pub connection: RegistryArgs,
}

/// `hoist logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry, `host[:port]`.
    pub registry: String,
}
