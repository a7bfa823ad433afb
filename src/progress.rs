//! Progress on stderr: only on a terminal, only once a run has taken more than a moment, at most
//! a few updates a second, and erased when done — so pipes and logs never see it.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// A throttled one-line progress display.
pub struct Progress {
    enabled: bool,
    start: Instant,
    last: Option<Instant>,
    shown: bool,
}

/// Quiet for this long; most runs end before and print nothing.
const GRACE: Duration = Duration::from_millis(700);
const EVERY: Duration = Duration::from_millis(200);

impl Progress {
    /// Progress that shows only when stderr is a terminal.
    pub fn new() -> Self {
        Progress { enabled: std::io::stderr().is_terminal(), start: Instant::now(), last: None, shown: false }
    }

    /// Offers an update; `text` is only built when it will be shown.
    pub fn tick(&mut self, text: impl FnOnce() -> String) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.start) < GRACE || self.last.is_some_and(|l| now.duration_since(l) < EVERY) {
            return;
        }
        self.last = Some(now);
        self.shown = true;
        let mut e = std::io::stderr().lock();
        let _ = write!(e, "\r\x1b[2K{} ({:.1}s)", text(), now.duration_since(self.start).as_secs_f64());
        let _ = e.flush();
    }

    /// Erases the line, if one was drawn.
    pub fn done(&mut self) {
        if self.shown {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            self.shown = false;
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done();
    }
}
