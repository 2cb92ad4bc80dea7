//! Which saves matter to `hoist dev`, and when a burst of them is over: file events under the
//! module, minus `.git`, what .gitignore ignores and editors' scratch files, coalesced by
//! notify's debouncer and delivered as one [`Change`] per burst.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use notify_debouncer_full::notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

/// Quiet time after the last event of a burst before it is delivered: an editor's save is a
/// write, a rename and a chmod within a few milliseconds.
const QUIET: Duration = Duration::from_millis(40);

/// One burst of relevant saves.
#[derive(Debug)]
pub(super) struct Change {
    /// When the first save of the burst happened: "save → serving" is measured from here.
    pub(super) first: Instant,
    /// The files, relative to the module root, each once.
    pub(super) paths: Vec<PathBuf>,
}

/// Watches `root` (recursively) until dropped.
pub(super) struct Watch {
    _debouncer: Debouncer<notify_debouncer_full::notify::RecommendedWatcher, RecommendedCache>,
    events: mpsc::Receiver<Change>,
}

impl Watch {
    /// Starts watching the module at `root`.
    pub(super) fn start(root: &Path) -> anyhow::Result<Self> {
        let filter = Filter::new(root);
        let (tx, events) = mpsc::channel();
        let mut debouncer = new_debouncer(QUIET, None, move |result: DebounceEventResult| {
            let Ok(events) = result else {
                return;
            };
            let mut first: Option<Instant> = None;
            let mut paths: Vec<PathBuf> = Vec::new();
            for e in &events {
                if matches!(e.kind, EventKind::Access(_)) {
                    continue;
                }
                for p in &e.paths {
                    if let Some(rel) = filter.relevant(p)
                        && !paths.contains(&rel)
                    {
                        paths.push(rel);
                        first = Some(first.map_or(e.time, |f| f.min(e.time)));
                    }
                }
            }
            if let Some(first) = first {
                let _ = tx.send(Change { first, paths });
            }
        })?;
        debouncer.watch(root, RecursiveMode::Recursive)?;
        Ok(Self {
            _debouncer: debouncer,
            events,
        })
    }

    /// The next burst, and any that follow it at once (one rebuild for both); `None` after
    /// `timeout` without one.
    pub(super) fn next(&self, timeout: Duration) -> Option<Change> {
        let mut change = self.events.recv_timeout(timeout).ok()?;
        while let Ok(more) = self.events.recv_timeout(Duration::from_millis(5)) {
            change.first = change.first.min(more.first);
            for p in more.paths {
                if !change.paths.contains(&p) {
                    change.paths.push(p);
                }
            }
        }
        Some(change)
    }
}

/// What is not worth a rebuild.
struct Filter {
    root: PathBuf,
    gitignore: Gitignore,
}

impl Filter {
    fn new(root: &Path) -> Self {
        let mut b = GitignoreBuilder::new(root);
        // A missing or unreadable file is no rule; the watch goes on without it.
        let _ = b.add(root.join(".gitignore"));
        let _ = b.add(root.join(".git/info/exclude"));
        Self {
            root: root.to_path_buf(),
            gitignore: b.build().unwrap_or_else(|_| Gitignore::empty()),
        }
    }

    /// `path` relative to the root, when a save there may change the program: not in `.git`
    /// or another hidden directory, not ignored by .gitignore, not an editor's scratch file.
    fn relevant(&self, path: &Path) -> Option<PathBuf> {
        let rel = path.strip_prefix(&self.root).ok()?.to_path_buf();
        let hidden = rel.components().any(|c| {
            let s = c.as_os_str().to_string_lossy();
            s.starts_with('.') && s != "." && s != ".."
        });
        if hidden {
            return None;
        }
        let name = rel.file_name()?.to_string_lossy().into_owned();
        // vim's swap files and its write test, emacs' lock and backup files.
        let swap = rel
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("swp") || e.eq_ignore_ascii_case("swx"));
        if name.ends_with('~') || swap || name.starts_with(".#") || name == "4913" {
            return None;
        }
        let is_dir = path.is_dir();
        if self
            .gitignore
            .matched_path_or_any_parents(path, is_dir)
            .is_ignore()
        {
            return None;
        }
        Some(rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_that_matter() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join(".gitignore"), "/bin/\n*.log\n").unwrap();
        let f = Filter::new(root);
        assert_eq!(f.relevant(&root.join("main.go")), Some("main.go".into()));
        assert_eq!(
            f.relevant(&root.join("web/static/app.css")),
            Some("web/static/app.css".into())
        );
        for ignored in [
            ".git/index",
            "bin/hello",
            "server.log",
            "main.go~",
            ".main.go.swp",
            "4913",
            ".idea/workspace.xml",
        ] {
            assert_eq!(f.relevant(&root.join(ignored)), None, "{ignored}");
        }
        assert_eq!(f.relevant(Path::new("/elsewhere/main.go")), None);
    }
}
