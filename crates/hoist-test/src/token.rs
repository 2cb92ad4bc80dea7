//! A token endpoint for registries with `auth: token`, in the test process: it checks basic
//! credentials and signs the JWTs a registry accepts, and it records the scopes asked for and
//! can hand out expired tokens, which no public issuer does on request.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use tempfile::TempDir;

use crate::process::tool;

/// A token endpoint for `auth: token` registries: checks basic credentials and signs JWTs
/// (RS256, with its certificate in `x5c`) granting what was asked for.
pub struct TokenIssuer {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The signing certificate: the registry's `rootcertbundle`.
    pub cert: PathBuf,
    key: PathBuf,
    user: String,
    password: String,
    /// Seconds added to now for each token's `exp` (negative: already expired, within the
    /// registry's 60 s leeway or beyond it).
    pub exp_offset: AtomicI64,
    /// Token requests served.
    pub requests: AtomicUsize,
    /// Scopes asked for, in order.
    pub scopes: std::sync::Mutex<Vec<String>>,
    _dir: TempDir,
}

impl TokenIssuer {
    /// Starts an issuer accepting `user`/`password`.
    pub fn start(user: &str, password: &str) -> Arc<Self> {
        let dir = tempfile::Builder::new()
            .prefix("hoist-issuer-")
            .tempdir()
            .unwrap();
        let key = dir.path().join("issuer.key");
        let cert = dir.path().join("issuer.pem");
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
                "/CN=hoist-test-issuer",
                "-keyout",
                key.to_str().unwrap(),
                "-out",
                cert.to_str().unwrap(),
            ],
            None,
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = Arc::new(Self {
            addr: listener.local_addr().unwrap().to_string(),
            cert,
            key,
            user: user.to_owned(),
            password: password.to_owned(),
            exp_offset: AtomicI64::new(300),
            requests: AtomicUsize::new(0),
            scopes: std::sync::Mutex::default(),
            _dir: dir,
        });
        let me = issuer.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let me = me.clone();
                std::thread::spawn(move || me.serve(conn));
            }
        });
        issuer
    }

    fn serve(&self, mut conn: TcpStream) {
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap_or_default();
        let mut authorization = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("authorization")
            {
                authorization = Some(v.trim().to_owned());
            }
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let target = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
        let query = target.split_once('?').map_or("", |(_, q)| q);
        let mut service = String::new();
        let mut scopes = Vec::new();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v);
            match k {
                "service" => service = v,
                "scope" => scopes.push(v),
                _ => {}
            }
        }
        self.scopes.lock().unwrap().extend(scopes.iter().cloned());
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", self.user, self.password))
        );
        let response = if authorization.as_deref() == Some(expected.as_str()) {
            let token = self.sign(&service, &scopes);
            let body = format!("{{\"token\":\"{token}\",\"expires_in\":3600}}");
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        } else {
            let body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad credentials\"}]}";
            format!(
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        };
        let _ = conn.write_all(response.as_bytes());
        let _ = reader.read(&mut [0; 0]);
    }

    fn sign(&self, service: &str, scopes: &[String]) -> String {
        static JTI: AtomicU64 = AtomicU64::new(0);
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let pem = std::fs::read_to_string(&self.cert).unwrap();
        let der_b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let header = format!("{{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5c\":[\"{der_b64}\"]}}");
        let now = i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        let exp = now + self.exp_offset.load(Ordering::Relaxed);
        let access: Vec<String> = scopes
            .iter()
            .filter_map(|s| {
                let mut parts = s.split(':');
                let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                let actions: Vec<String> = actions.split(',').map(|a| format!("\"{a}\"")).collect();
                Some(format!(
                    "{{\"type\":\"{kind}\",\"name\":\"{name}\",\"actions\":[{}]}}",
                    actions.join(",")
                ))
            })
            .collect();
        let claims = format!(
            "{{\"iss\":\"hoist-test-issuer\",\"sub\":\"{}\",\"aud\":\"{service}\",\"exp\":{exp},\"nbf\":{},\"iat\":{},\"jti\":\"{}\",\"access\":[{}]}}",
            self.user,
            now - 120,
            now - 120,
            JTI.fetch_add(1, Ordering::Relaxed),
            access.join(",")
        );
        let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
        let sig = tool(
            "openssl",
            &["dgst", "-sha256", "-sign", self.key.to_str().unwrap()],
            Some(input.as_bytes()),
        );
        format!("{input}.{}", b64(&sig))
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let h = u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?');
                out.push(h);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
