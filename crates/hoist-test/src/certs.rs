//! A test certificate authority and a server certificate for 127.0.0.1 signed by it, made with
//! openssl: TLS registries need one, and hoist must trust it only when told to.

use std::path::{Path, PathBuf};

use crate::process::tool;

/// Files of a test CA and a server certificate for 127.0.0.1 and localhost signed by it.
pub struct Certs {
    /// The CA's certificate (what a client is told to trust).
    pub ca: PathBuf,
    /// The server's certificate.
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
}

/// Makes a CA and a server certificate for 127.0.0.1 and localhost with openssl.
pub fn make_certs(dir: &Path) -> Certs {
    make_certs_for(dir, "IP:127.0.0.1,DNS:localhost")
}

/// Makes a CA and a server certificate for `sans` (openssl's `subjectAltName` syntax, like
/// `IP:10.213.1.5`) with openssl.
pub fn make_certs_for(dir: &Path, sans: &str) -> Certs {
    let p = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=hoist test CA",
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.pem"),
        ],
        None,
    );
    tool(
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &p("server.key"),
            "-out",
            &p("server.csr"),
        ],
        None,
    );
    std::fs::write(
        dir.join("san.ext"),
        format!("subjectAltName={sans}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    tool(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &p("server.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &p("san.ext"),
            "-out",
            &p("server.pem"),
        ],
        None,
    );
    Certs {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}
