//! The references in `docs/` are hoist's own output (`hoist docs cli`, `hoist docs config`): a
//! change to a flag or a hoist.toml key that is not in the committed file fails here. Run with
//! `HOIST_UPDATE_DOCS=1` to write them anew, then review the diff.

use hoist_test::cli::success;
use hoist_test::fs::repo_root;

fn check(which: &str, file: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let fresh = success(&mut crate::hoist(tmp.path(), &["docs", which]));
    let path = repo_root().join(file);
    if std::env::var_os("HOIST_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{file} is stale: run `HOIST_UPDATE_DOCS=1 cargo test -p hoist --test it docs::` and commit it\n--- committed\n+++ `hoist docs {which}`\n{}",
        first_difference(&committed, &fresh)
    );
}

/// The first line that differs, for the failure message.
fn first_difference(a: &str, b: &str) -> String {
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => {}
            (None, None) => break,
            (x, y) => return format!("line {n}:\n- {}\n+ {}", x.unwrap_or(""), y.unwrap_or("")),
        }
    }
    String::new()
}

#[test]
fn the_cli_reference_is_current() {
    check("cli", "docs/cli.md");
}

#[test]
fn the_config_reference_is_current() {
    check("config", "docs/config.md");
}

#[test]
fn completions_and_the_man_page_come_from_the_same_definitions() {
    let tmp = tempfile::tempdir().unwrap();
    let bash = success(&mut crate::hoist(tmp.path(), &["completions", "bash"]));
    assert!(bash.contains("hoist") && bash.contains("deploy"), "{bash}");
    let man = success(&mut crate::hoist(tmp.path(), &["docs", "man"]));
    assert!(man.starts_with(".ie") || man.contains(".TH hoist"), "{man}");
    assert!(man.contains("deploy"), "{man}");
}
