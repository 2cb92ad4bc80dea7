//! Where a Go program listens, read from its main package's source: the answer `hoist init`
//! (and a project without hoist.toml) needs for `app.port` and `app.args`.
//!
//! hoist runs each replica with `$PORT` set and probes that port. Most services take their
//! address from a flag instead (`--web.listen-address=:9091` in every Prometheus exporter,
//! `-addr`, `--port`), so a service taken as it is would listen elsewhere and never get ready.
//! This finds, in order:
//! 1. the program reads `$PORT` itself (`os.Getenv("PORT")`): nothing to pass;
//! 2. a listen-address flag with a port in its default (Go's `flag` and `spf13/pflag`,
//!    kingpin's `.Flag(…).Default(…)`, and the Prometheus exporter toolkit's
//!    `kingpinflag.AddFlags(app, ":9091")`): the default's port, and the flag set to `$(PORT)`;
//! 3. a fixed address in `http.ListenAndServe(":8080", …)`: that port, nothing to pass.
//!
//! It reads text with regular expressions, not Go's syntax tree: no Go parser in Rust is
//! maintained, and running a Go helper through `go run` would cost a compile on every
//! `hoist init`. A miss only means the template's default port, which the first deploy then
//! reports precisely (the replica listens on :9091 but not on `$PORT`).

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

/// What the main package says about its listening address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    /// The port the program listens on by default (from the flag's default or the literal);
    /// `None` when it reads `$PORT` and has no default of its own in sight.
    pub port: Option<u16>,
    /// The argument that makes it listen on hoist's port, like `--web.listen-address=:$(PORT)`;
    /// `None` when the program reads `$PORT` or its address is fixed.
    pub arg: Option<String>,
    /// How it was found, for the user: ``main.go:60: `webflag.AddFlags(app, ":9091")` ``.
    pub evidence: String,
    /// The file it was found in.
    pub file: PathBuf,
}

/// Reads the `.go` files (not tests) of the package in `package_dir`; `None` when none says
/// where it listens.
pub fn detect(package_dir: &Path) -> Option<Listen> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(package_dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "go")
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with("_test.go"))
        })
        .collect();
    files.sort();
    let sources: Vec<(PathBuf, String)> = files
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        .collect();
    // The strongest evidence wins, whichever file holds it.
    for find in [reads_port_env, listen_flag, fixed_address] {
        for (path, original) in &sources {
            // Comments blanked byte for byte: offsets into it are offsets into the file.
            let text = strip_comments(original);
            if let Some((port, arg, offset)) = find(&text) {
                let line = text[..offset].matches('\n').count() + 1;
                let snippet = original
                    .lines()
                    .nth(line - 1)
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let name = path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                return Some(Listen {
                    port,
                    arg,
                    evidence: format!("{name}:{line}: `{snippet}`"),
                    file: path.clone(),
                });
            }
        }
    }
    None
}

/// A finding: the port, the argument, and the byte offset of what says so.
type Found = (Option<u16>, Option<String>, usize);

fn reads_port_env(text: &str) -> Option<Found> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"\b(?:Getenv|LookupEnv)\(\s*"PORT"\s*\)"#).expect("valid regex")
    });
    let m = RE.find(text)?;
    Some((None, None, m.start()))
}

/// Flag names that hold a listening address or port.
fn is_listen_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["listen", "addr", "bind", "port", "http"]
        .iter()
        .any(|k| n.contains(k))
        && !["metrics", "debug", "pprof", "admin", "grpc", "health"]
            .iter()
            .any(|k| n.contains(k))
}

/// The port in a default value: `:9091`, `0.0.0.0:8080`, `[::]:80`, or `8080` for a port flag.
fn port_of(value: &str, name: &str) -> Option<(u16, bool)> {
    if let Some((_, port)) = value.rsplit_once(':') {
        return port.parse().ok().filter(|p| *p > 0).map(|p| (p, true));
    }
    if name.to_ascii_lowercase().contains("port") {
        return value.parse().ok().filter(|p| *p > 0).map(|p| (p, false));
    }
    None
}

fn listen_flag(text: &str) -> Option<Found> {
    // The exporter toolkit's `--web.listen-address`, under whatever name its package has.
    static TOOLKIT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"\b\w*flag\.AddFlags\(\s*[\w.]+\s*,\s*"([^"]*:\d+)"\s*\)"#)
            .expect("valid regex")
    });
    // kingpin: .Flag("name", "help")….Default("value"), the chain often over several lines:
    // each flag's `.Default` is looked for between its `.Flag(` and the next one.
    static KINGPIN_FLAG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"\.Flag\(\s*"([\w.\-]+)"\s*,"#).expect("valid regex"));
    static KINGPIN_DEFAULT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^[^;]*?\.\s*Default\(\s*"([^"]*)"\s*\)"#).expect("valid regex")
    });
    // flag / pflag: String("name", "value", …), StringVar(&v, "name", "value", …), and the
    // P forms with a shorthand before the value; the Int forms for a port number.
    static STD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"\.(String|StringVar|StringP|StringVarP|Int|IntVar|IntP|IntVarP|Uint|UintVar)\(\s*(?:&[\w.\[\]]+\s*,\s*)?"([\w.\-]+)"\s*,\s*(?:"\w?"\s*,\s*)?("[^"]*"|\d+)"#,
        )
        .expect("valid regex")
    });
    if TOOLKIT.is_match(text) && text.contains("exporter-toolkit/web/kingpinflag") {
        let c = TOOLKIT.captures(text)?;
        let (port, _) = port_of(&c[1], "")?;
        return Some((
            Some(port),
            Some("--web.listen-address=:$(PORT)".to_owned()),
            c.get(0)?.start(),
        ));
    }
    let mut found = Vec::new();
    let flags: Vec<regex::Captures<'_>> = KINGPIN_FLAG.captures_iter(text).collect();
    for (i, c) in flags.iter().enumerate() {
        let m = c.get(0)?;
        let end = flags
            .get(i + 1)
            .and_then(|n| n.get(0))
            .map_or(text.len(), |n| n.start());
        if let Some(d) = KINGPIN_DEFAULT.captures(&text[m.end()..end]) {
            found.push((m, c[1].to_owned(), d[1].to_owned()));
        }
    }
    for c in STD.captures_iter(text) {
        found.push((
            c.get(0)?,
            c[2].to_owned(),
            c[3].trim_matches('"').to_owned(),
        ));
    }
    found.sort_by_key(|(m, ..)| m.start());
    found.into_iter().find_map(|(m, name, value)| {
        if !is_listen_name(&name) {
            return None;
        }
        let (port, address) = port_of(&value, &name)?;
        let arg = if address {
            format!("--{name}=:$(PORT)")
        } else {
            format!("--{name}=$(PORT)")
        };
        Some((Some(port), Some(arg), m.start()))
    })
}

fn fixed_address(text: &str) -> Option<Found> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"\bListenAndServe(?:TLS)?\(\s*"([^"]*:(\d+))""#).expect("valid regex")
    });
    let c = RE.captures(text)?;
    let port: u16 = c[2].parse().ok().filter(|p| *p > 0)?;
    Some((Some(port), None, c.get(0)?.start()))
}

/// The text with `//` and `/* */` comments blanked (newlines kept, so offsets give lines),
/// strings left alone: commented-out code says nothing about the program.
fn strip_comments(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'`' | b'\'' => {
                let quote = b[i];
                out.push(b[i]);
                i += 1;
                while i < b.len() && b[i] != quote && !(quote != b'`' && b[i] == b'\n') {
                    if b[i] == b'\\' && quote != b'`' && i + 1 < b.len() {
                        out.push(b[i]);
                        i += 1;
                    }
                    out.push(b[i]);
                    i += 1;
                }
                if i < b.len() {
                    out.push(b[i]);
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    out.push(b' ');
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                out.extend_from_slice(b"  ");
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    out.push(if b[i] == b'\n' { b'\n' } else { b' ' });
                    i += 1;
                }
                if i < b.len() {
                    out.extend_from_slice(b"  ");
                    i += 2;
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_dir(files: &[(&str, &str)]) -> Option<Listen> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        detect(dir.path())
    }

    fn one(text: &str) -> Option<(Option<u16>, Option<String>)> {
        in_dir(&[("main.go", text)]).map(|l| (l.port, l.arg))
    }

    #[test]
    fn the_exporter_toolkit_flag() {
        let text = "package main\n\nimport (\n\twebflag \"github.com/prometheus/exporter-toolkit/web/kingpinflag\"\n)\n\nvar (\n\twebConfig = webflag.AddFlags(app, \":9091\")\n)\n";
        let l = in_dir(&[("main.go", text)]).unwrap();
        assert_eq!(l.port, Some(9091));
        assert_eq!(l.arg.as_deref(), Some("--web.listen-address=:$(PORT)"));
        assert_eq!(
            l.evidence,
            "main.go:8: `webConfig = webflag.AddFlags(app, \":9091\")`"
        );
    }

    #[test]
    fn go_flag_and_pflag_forms() {
        assert_eq!(
            one("var addr = flag.String(\"addr\", \":8081\", \"listen address\")"),
            Some((Some(8081), Some("--addr=:$(PORT)".into())))
        );
        assert_eq!(
            one("flag.StringVar(&cfg.Listen, \"listen\", \"0.0.0.0:3000\", \"where\")"),
            Some((Some(3000), Some("--listen=:$(PORT)".into())))
        );
        assert_eq!(
            one("fs.IntVar(&port, \"port\", 9000, \"port\")"),
            Some((Some(9000), Some("--port=$(PORT)".into())))
        );
        assert_eq!(
            one("pflag.StringVarP(&bind, \"bind\", \"b\", \"[::]:7000\", \"bind address\")"),
            Some((Some(7000), Some("--bind=:$(PORT)".into())))
        );
        assert_eq!(
            one("p := flag.StringP(\"http-port\", \"p\", \"8088\", \"port\")"),
            Some((Some(8088), Some("--http-port=$(PORT)".into())))
        );
    }

    #[test]
    fn kingpin_default() {
        assert_eq!(
            one(
                "listen = kingpin.Flag(\"web.listen\", \"Address to listen on.\").Default(\":9115\").String()"
            ),
            Some((Some(9115), Some("--web.listen=:$(PORT)".into())))
        );
    }

    #[test]
    fn kingpin_chains_over_several_lines_keep_their_own_default() {
        let text = "var (\n\tname = kingpin.Flag(\"name\", \"Name.\").\n\t\tString()\n\tlisten = kingpin.Flag(\"web.listen-address\", \"Address.\").\n\t\tDefault(\":9115\").String()\n)\n";
        let l = in_dir(&[("main.go", text)]).unwrap();
        assert_eq!(l.port, Some(9115));
        assert_eq!(l.arg.as_deref(), Some("--web.listen-address=:$(PORT)"));
        assert!(l.evidence.starts_with("main.go:4: "), "{}", l.evidence);
    }

    #[test]
    fn other_flags_are_not_the_listen_address() {
        assert_eq!(
            one(
                "flag.String(\"metrics-addr\", \":9090\", \"\")\nflag.String(\"name\", \"x:1\", \"\")\nflag.Int(\"workers\", 4, \"\")"
            ),
            None
        );
    }

    #[test]
    fn reading_port_wins_over_a_flag() {
        assert_eq!(
            one(
                "addr := flag.String(\"addr\", \":8081\", \"\")\nif p := os.Getenv(\"PORT\"); p != \"\" { *addr = \":\" + p }"
            ),
            Some((None, None))
        );
    }

    #[test]
    fn a_fixed_address() {
        assert_eq!(
            one("log.Fatal(http.ListenAndServe(\":8000\", nil))"),
            Some((Some(8000), None))
        );
    }

    #[test]
    fn comments_and_tests_say_nothing() {
        assert_eq!(
            one(
                "// flag.String(\"addr\", \":8081\", \"\")\n/* http.ListenAndServe(\":80\", nil) */\nvar s = \"// not a comment\"\n"
            ),
            None
        );
        assert_eq!(
            in_dir(&[("main_test.go", "flag.String(\"addr\", \":8081\", \"\")")]),
            None
        );
    }

    #[test]
    fn the_line_counts_past_blanked_comments() {
        let l = in_dir(&[(
            "serve.go",
            "/* a\nb\n*/\n// c\nflag.String(\"addr\", \":1234\", \"\")\n",
        )])
        .unwrap();
        assert_eq!(
            l.evidence,
            "serve.go:5: `flag.String(\"addr\", \":1234\", \"\")`"
        );
    }
}
