//! Progress for long commands: a bar on a terminal (indicatif), plain
//! lines otherwise, so CI logs read like a transcript.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressStyle};

/// Reports steps of a command with a known number of steps.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Progress over `steps` steps.
    pub fn new(steps: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(steps);
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
                bar.set_style(style);
            }
            bar
        });
        Self { bar }
    }

    /// More steps, once their number is known.
    pub fn add_steps(&self, steps: u64) {
        if let Some(bar) = &self.bar {
            bar.inc_length(steps);
        }
    }

    /// One step done.
    pub fn step(&self, line: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(line.as_ref().to_owned());
                bar.inc(1);
            }
            None => eprintln!("{}", line.as_ref()),
        }
    }

    /// A line that stays (above the bar on a terminal).
    pub fn note(&self, line: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.println(line.as_ref()),
            None => eprintln!("{}", line.as_ref()),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
