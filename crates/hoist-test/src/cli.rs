//! The `hoist` binary as a user runs it, and what its output must look like. The binary's path is
//! the caller's: cargo builds it, and tells its path, only to the `hoist` crate's own tests
//! (`env!("CARGO_BIN_EXE_hoist")`); a lower crate's tests use that crate's library instead.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

/// `BIN ARGS` with `cache` as its cache (`HOIST_CACHE_DIR`), no `SOURCE_DATE_EPOCH` or
/// `HOIST_LOG` from the caller's shell, and no colour: the same command on every machine.
pub fn command(bin: &Path, cache: &Path, args: &[&str]) -> Command {
    Command::from_std(std_command(bin, cache, args))
}

/// [`command`] as a std command: to run in the background, or to wrap in another program.
pub fn std_command(bin: &Path, cache: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(bin);
    cmd.args(args)
        .env("HOIST_CACHE_DIR", cache)
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("HOIST_LOG");
    cmd
}

/// Runs `cmd`, asserts it succeeded, and returns its stdout (stdout and stderr are printed
/// when it failed).
pub fn success(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().clone();
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Runs `cmd`, asserts it failed with exit code 1 (an error; nothing changed) and printed
/// nothing on stdout, and returns its stderr.
pub fn failure(cmd: &mut Command) -> String {
    failure_with(cmd, 1)
}

/// [`failure`] of a usage or configuration error: exit code 2.
pub fn config_failure(cmd: &mut Command) -> String {
    failure_with(cmd, 2)
}

/// [`failure`] with exit code `code`.
pub fn failure_with(cmd: &mut Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().clone();
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    assert!(
        out.stdout.is_empty(),
        "a failure printed on stdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// The exit code of a finished command (-1 when a signal ended it): hoist's exit codes tell
/// rolled back, failed and usage errors apart.
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// Asserts `stderr` contains every one of `needles`.
#[track_caller]
pub fn assert_mentions(stderr: &str, needles: &[&str]) {
    for n in needles {
        assert!(
            stderr.contains(n),
            "stderr does not mention `{n}`:\n{stderr}"
        );
    }
}

/// `stdout` parsed as JSON (what `--json` prints), or a failure that shows it.
#[track_caller]
pub fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

/// The single `sha256:<64 hex>` line of a `hoist build` stdout.
#[track_caller]
pub fn digest_line(stdout: &str) -> String {
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        matches!(lines.as_slice(), [d] if is_digest(d)),
        "stdout is not one digest line:\n{stdout}"
    );
    lines[0].to_owned()
}

/// Whether `s` is `sha256:` and 64 lowercase hex digits.
pub fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The `hoist.toml:LINE:COL` that `stderr` points at: config errors name the spot, and tests
/// compare it with where the broken value is.
#[track_caller]
pub fn config_spot(stderr: &str) -> (usize, usize) {
    let at = stderr
        .find("hoist.toml:")
        .unwrap_or_else(|| panic!("stderr names no `hoist.toml:LINE:COL`:\n{stderr}"));
    let mut numbers = stderr[at + "hoist.toml:".len()..]
        .split(|c: char| !c.is_ascii_digit())
        .take(2)
        .map(|n| {
            n.parse::<usize>()
                .unwrap_or_else(|_| panic!("no LINE:COL after `hoist.toml:`:\n{stderr}"))
        });
    (
        numbers.next().expect("line"),
        numbers.next().expect("column"),
    )
}

/// The 1-based line and column where `needle` first occurs in `text`: where a config error
/// should point.
#[track_caller]
pub fn position(text: &str, needle: &str) -> (usize, usize) {
    text.lines()
        .enumerate()
        .find_map(|(i, l)| l.find(needle).map(|c| (i + 1, c + 1)))
        .unwrap_or_else(|| panic!("`{needle}` is not in:\n{text}"))
}
