//! The `static` base layer, made by hoist itself rather than pulled from a registry.
//!
//! It holds what a static Go binary may look for at run time, like distroless `static`: a CA
//! bundle for outgoing TLS, `passwd`/`group` so user lookups of root, nobody and nonroot work,
//! `nsswitch.conf` so Go's resolver reads `/etc/hosts` before DNS, a world-writable `/tmp`, and
//! home directories. The CA bundle comes from `webpki-root-certs` (Mozilla's root program, pinned
//! by Cargo.lock), never from the host, so the layer is byte-identical on every machine.

use base64::Engine as _;

use crate::tar::{self, Entry, MODE_DIR, MODE_FILE, ROOT};

/// The mtime of every entry of the base layer: the Unix epoch. The base layer does not change
/// with the app, so it carries no app time; a constant keeps it identical for every app and
/// machine, and so shared in registries and caches.
pub const BASE_MTIME: u64 = 0;

/// uid and gid of `nonroot`, the user images run as: distroless' value, so Kubernetes policies
/// written for distroless (`runAsUser: 65532`) fit hoist images too.
pub const NONROOT: u64 = 65532;

/// `/tmp` is world-writable with the sticky bit, as on every Unix: programs (and Go's
/// `os.TempDir`) expect to create files there as any user.
const MODE_TMP: u32 = 0o1777;

/// Home directories are private to their owner, as `useradd` makes them.
const MODE_HOME: u32 = 0o700;

const PASSWD: &str = "root:x:0:0:root:/root:/sbin/nologin\n\
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n\
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";

const GROUP: &str = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n";

/// Go's resolver consults this to order `/etc/hosts` and DNS; without it, glibc-style defaults
/// apply that differ between Go versions.
const NSSWITCH: &str = "hosts: files dns\n";

/// The uncompressed tar of the `static` base layer.
pub(crate) fn static_tar() -> Vec<u8> {
    let entries = vec![
        Entry::file(
            "etc/ssl/certs/ca-certificates.crt",
            ca_bundle().into_bytes(),
            MODE_FILE,
        ),
        Entry::file("etc/passwd", PASSWD.as_bytes(), MODE_FILE),
        Entry::file("etc/group", GROUP.as_bytes(), MODE_FILE),
        Entry::file("etc/nsswitch.conf", NSSWITCH.as_bytes(), MODE_FILE),
        Entry::dir("tmp", MODE_TMP, ROOT),
        Entry::dir("root", MODE_HOME, ROOT),
        Entry::dir("home", MODE_DIR, ROOT),
        Entry::dir("home/nonroot", MODE_HOME, NONROOT),
    ];
    tar::write(entries, BASE_MTIME)
}

/// Mozilla's trusted roots as one PEM bundle, in `webpki-root-certs`' order.
pub(crate) fn ca_bundle() -> String {
    let mut pem = String::new();
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        // PEM lines are 64 characters (RFC 7468); base64 is ASCII, so byte offsets are chars.
        for start in (0..b64.len()).step_by(64) {
            pem.push_str(&b64[start..(start + 64).min(b64.len())]);
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn static_layer_has_expected_entries() {
        let tar = static_tar();
        let mut archive = ::tar::Archive::new(&tar[..]);
        let mut seen = Vec::new();
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
            assert_eq!(h.mtime().unwrap(), BASE_MTIME, "{path}");
            assert_eq!(h.username_bytes(), Some(&b""[..]), "{path}");
            let mut body = String::new();
            e.read_to_string(&mut body).unwrap();
            if path.ends_with("ca-certificates.crt") {
                let n = body.matches("-----BEGIN CERTIFICATE-----").count();
                assert!(n > 100, "only {n} certificates");
            }
            seen.push((path, h.mode().unwrap(), h.uid().unwrap(), h.gid().unwrap()));
        }
        let expect = [
            ("etc/", 0o755, 0),
            ("etc/group", 0o644, 0),
            ("etc/nsswitch.conf", 0o644, 0),
            ("etc/passwd", 0o644, 0),
            ("etc/ssl/", 0o755, 0),
            ("etc/ssl/certs/", 0o755, 0),
            ("etc/ssl/certs/ca-certificates.crt", 0o644, 0),
            ("home/", 0o755, 0),
            ("home/nonroot/", 0o700, 65532),
            ("root/", 0o700, 0),
            ("tmp/", 0o1777, 0),
        ];
        let expect: Vec<_> = expect
            .iter()
            .map(|(p, m, o)| ((*p).to_owned(), *m, *o, *o))
            .collect();
        assert_eq!(seen, expect);
    }
}
