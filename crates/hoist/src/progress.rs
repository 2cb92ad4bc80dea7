//! Progress for people: a spinner per running stage on a terminal, plain lines otherwise. All of
//! it goes to stderr; stdout is for data.

use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Shows stages as they run and how long each took.
pub struct Progress {
    bars: Option<MultiProgress>,
}

/// One running stage; [`Stage::finish`] prints its time.
pub struct Stage {
    name: String,
    started: Instant,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Spinners when stderr is a terminal, plain lines when it is not (CI logs, pipes).
    pub fn new() -> Self {
        let term = console::Term::stderr().is_term();
        Self {
            bars: term.then(MultiProgress::new),
        }
    }

    /// Starts a stage called `name`.
    pub fn stage(&self, name: impl Into<String>) -> Stage {
        let name = name.into();
        let bar = self.bars.as_ref().map(|m| {
            let b = m.add(ProgressBar::new_spinner());
            b.set_style(
                ProgressStyle::with_template("{spinner:.cyan} {msg} {elapsed:.dim}")
                    .expect("static template"),
            );
            b.set_message(name.clone());
            b.enable_steady_tick(Duration::from_millis(100));
            b
        });
        Stage {
            name,
            started: Instant::now(),
            bar,
        }
    }
}

impl Stage {
    /// Ends the stage with a line `name (1.23s) detail`.
    pub fn finish(self, detail: &str) {
        let secs = self.started.elapsed().as_secs_f64();
        let line = if detail.is_empty() {
            format!("{} ({secs:.2}s)", self.name)
        } else {
            format!("{} ({secs:.2}s) {detail}", self.name)
        };
        match self.bar {
            Some(b) => {
                b.set_style(ProgressStyle::with_template("{msg}").expect("static template"));
                b.finish_with_message(format!("{} {line}", console::style("✓").green()));
            }
            None => eprintln!("{line}"),
        }
    }

    /// Ends the stage without a line (the error report follows).
    pub fn fail(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

/// The pipeline's stages shown as the CLI shows its own.
impl hoist_pipeline::Observer for Progress {
    fn stage(&self, name: &str) -> Box<dyn hoist_pipeline::Stage + '_> {
        Box::new(Progress::stage(self, name))
    }
}

impl hoist_pipeline::Stage for Stage {
    fn finish(self: Box<Self>, note: &str) {
        Stage::finish(*self, note);
    }

    fn fail(self: Box<Self>) {
        Stage::fail(*self);
    }
}
