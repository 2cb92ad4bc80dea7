//! `hoist login` / `hoist logout`: credentials in docker's config.json (or its helper), the
//! same place `docker login` writes, so docker, podman and hoist share them.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
use hoist_registry::{Credentials, Reference};

use super::registry;
use crate::cli::{LoginArgs, LogoutArgs};

/// Checks the credentials against the registry, then stores them.
pub fn login(args: &LoginArgs) -> anyhow::Result<ExitCode> {
    let host = registry_host(&args.registry)?;
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("cannot read the password from stdin")?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        anyhow::bail!(
            "no password on stdin; pipe it in, e.g. `echo \"$TOKEN\" | hoist login {host} -u USER --password-stdin`"
        );
    }
    let credentials = Credentials::basic(&args.username, password);
    let mut client_args = registry::client_options_for_login(&args.connection);
    client_args
        .credentials
        .insert(host.clone(), credentials.clone());
    let client = hoist_registry::Client::new(client_args)?;
    client
        .check_login(&host)
        .with_context(|| format!("cannot log in to `{host}`"))?;
    let stored = registry::auth_files()
        .store(&host, &credentials)
        .context("cannot store the credentials")?;
    eprintln!(
        "logged in to {host} as {} (stored in {stored})",
        args.username
    );
    Ok(ExitCode::SUCCESS)
}

/// Forgets the stored credentials.
pub fn logout(args: &LogoutArgs) -> anyhow::Result<ExitCode> {
    let host = registry_host(&args.registry)?;
    if registry::auth_files().remove(&host)? {
        eprintln!("removed the credentials for {host}");
    } else {
        eprintln!("no credentials were stored for {host}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `registry.example.com`, `localhost:5000`, `https://host/` → the host as references name it.
fn registry_host(s: &str) -> anyhow::Result<String> {
    let bare = s
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let r: Reference = format!("{bare}/x").parse()?;
    if r.repository.name != "x" {
        anyhow::bail!("`{s}` is not a registry host; expected `host[:port]`");
    }
    Ok(r.repository.registry)
}
