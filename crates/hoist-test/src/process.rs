//! Programs a test runs beside hoist (git, openssl, kill, an engine's client): each must succeed,
//! or the test fails with its whole output.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Asserts `out` is a success, else fails with the command line and both outputs: a failed tool
/// is the test's problem, and its stderr says why.
#[track_caller]
pub fn assert_success(program: &str, args: &[&str], out: &Output) {
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}):\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a program, asserts it succeeded, returns its stdout.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{program}`: {e}"));
    assert_success(program, args, &out);
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

/// Runs a tool that `scripts/install-test-deps` installs, with `stdin`; returns its stdout. A
/// missing tool fails the test with where to get it.
pub fn tool(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run `{program}` ({e}): install it with scripts/install-test-deps")
        });
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait for the tool");
    assert_success(program, args, &out);
    out.stdout
}

/// `kill -SIG PID`: tests kill replicas and agents the way a user would. Whether the signal was
/// sent (a process that is already gone is no failure for most callers).
pub fn kill(pid: u32, sig: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits until every thread of `pid` has exited (gone, or a zombie), for at most 5 s: only
/// then are its files (a listening socket) closed. A zombie main thread is not enough: a
/// killed process's other threads may still be finishing a write.
pub fn wait_gone(pid: u32) {
    for _ in 0..200 {
        if all_threads_exited(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("process {pid} did not exit");
}

fn all_threads_exited(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return true;
    };
    tasks.flatten().all(|t| {
        std::fs::read_to_string(t.path().join("stat"))
            .map_or(true, |s| s.contains(") Z ") || s.contains(") X "))
    })
}

/// Lossy UTF-8, for failure messages of outputs that may not be text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
