//! `hoist dev` on the hello example as it is: the first deploy, a one-line change rolled out
//! under load without a failed request, a compile error that leaves the old version serving
//! and shows the compiler's file:line, an edit that changes nothing, the fix, and Ctrl-C
//! stopping the app and the agent `hoist dev` started.

use hoist_test::agent::{Agent, Driver};
use hoist_test::http::get_ok;
use hoist_test::load::Load;
use hoist_test::process::kill;
use hoist_test::project::Project;
use std::io::BufRead as _;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::HOIST;

/// `hoist dev` running, its stderr lines arriving on a channel.
struct Dev {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Dev {
    fn start(agent: &Agent) -> Self {
        let mut child = agent
            .hoist_std(&["dev", "--env", "dev"])
            .current_dir(&agent.project.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hoist dev starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (up to a minute) for a line containing `needle`; returns it.
    #[track_caller]
    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_mins(1);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no line with `{needle}`; hoist dev said:\n{}",
            self.seen.join("\n")
        );
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn body(agent: &Agent) -> String {
    get_ok(&agent.proxy.to_string(), "/", Duration::from_secs(5))
}

#[test]
fn saves_roll_out_without_dropping_requests_and_ctrl_c_cleans_up() {
    let agent = Agent::new(HOIST, Project::example("hello"), Driver::Process);
    let main_go = agent.project.dir.join("main.go");
    let original = std::fs::read_to_string(&main_go).unwrap();
    let mut dev = Dev::start(&agent);
    dev.expect("start: revision 1 serves");
    assert!(
        body(&agent).starts_with("hello from hoist"),
        "{}",
        body(&agent)
    );
    // The replicas' logs stream, prefixed by replica.
    dev.expect("[replica 1]");

    // A one-line change, rolled out while requests keep coming.
    let _turn = hoist_test::load::one_at_a_time();
    let load = Load::start(agent.proxy, "/", 4, Duration::from_mins(1), 1_000_000);
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(
        &main_go,
        original.replace("hello from hoist", "hi from hoist"),
    )
    .unwrap();
    let line = dev.expect("main.go: revision 2 serves");
    assert!(line.contains("after the save"), "{line}");
    std::thread::sleep(Duration::from_millis(300));
    let report = load.finish();
    assert!(report.failures().is_empty(), "{}", report.summary());
    assert!(
        report.samples.len() > 50,
        "the load ran: {}",
        report.summary()
    );
    assert!(body(&agent).starts_with("hi from hoist"));

    // A compile error: the compiler's message with file:line, and the old version serves on.
    std::fs::write(
        &main_go,
        original.replace("fmt.Fprintln(w, \"ok\")", "fmt.Fprintln(w, ok)"),
    )
    .unwrap();
    dev.expect("main.go: the build failed; the running version keeps serving");
    dev.expect("./main.go:");
    assert!(body(&agent).starts_with("hi from hoist"));

    // The fix: back to the first text, as revision 3.
    std::fs::write(&main_go, &original).unwrap();
    dev.expect("main.go: revision 3 serves");
    assert!(body(&agent).starts_with("hello from hoist"));

    // A save that changes no byte of the program rolls nothing out.
    std::fs::write(agent.project.dir.join("NOTES.md"), "notes\n").unwrap();
    dev.expect("NOTES.md: the binary is unchanged");

    // Ctrl-C: the app it deployed and the agent it started stop; hoist dev exits 0.
    assert!(kill(dev.child.id(), "INT"), "kill failed");
    dev.expect("stopped `hello`");
    dev.expect("stopped the agent");
    let status = dev.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(agent.pid(), None, "the agent is gone");
}
