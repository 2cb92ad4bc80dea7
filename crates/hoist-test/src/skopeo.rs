//! skopeo (containers/image, what podman and CRI-O read images with) as the independent reader of
//! what hoist writes and pushes: OCI layouts, docker archives, registries.

use serde_json::Value;

use crate::process::tool;

/// `skopeo ARGS`, whose stdout is JSON (`inspect`, `inspect --raw`), parsed.
pub fn skopeo(args: &[&str]) -> Value {
    let out = tool("skopeo", args, None);
    serde_json::from_slice(&out).unwrap_or_else(|e| {
        panic!(
            "`skopeo {}` printed no JSON ({e}):\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out)
        )
    })
}
