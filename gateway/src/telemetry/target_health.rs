//! How a telemetry target that fails is reported. A collector that is down, or a disk that is
//! full, fails at every export or tick; a line each time would fill the log and hide everything
//! else in it. So each target (span export, metric export, the analytics log) warns once when
//! it starts failing, with the error and what happens meanwhile, logs the failures after that
//! at debug, and says when it works again: the log shows when each outage began and ended.

use std::fmt::Display;

pub struct TargetHealth {
    /// What is failing, as the log names it ("span export").
    target: &'static str,
    /// What happens while it fails, for the warning ("spans are dropped and counted in ...").
    meanwhile: &'static str,
    failing: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    Failing,
    Recovered,
}

impl TargetHealth {
    pub const fn new(target: &'static str, meanwhile: &'static str) -> TargetHealth {
        TargetHealth {
            target,
            meanwhile,
            failing: false,
        }
    }

    /// Logs the outcome of one export or write as the target's state says, and returns the
    /// change it made, if any.
    pub fn report<E: Display>(&mut self, outcome: Result<(), E>) -> Option<Change> {
        match (self.failing, outcome) {
            (false, Err(e)) => {
                tracing::warn!(
                    "{} failed ({e}); {} until it works again",
                    self.target,
                    self.meanwhile
                );
                self.failing = true;
                Some(Change::Failing)
            }
            (true, Err(e)) => {
                tracing::debug!("{} failed again: {e}", self.target);
                None
            }
            (true, Ok(())) => {
                tracing::info!("{} works again", self.target);
                self.failing = false;
                Some(Change::Recovered)
            }
            (false, Ok(())) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_reported_when_it_starts_failing_and_when_it_recovers_not_at_every_attempt() {
        let mut health = TargetHealth::new("span export", "spans are dropped");
        let attempts = [true, false, false, false, true, true, false];
        let changes: Vec<_> = attempts
            .iter()
            .map(|&works| health.report(if works { Ok(()) } else { Err("refused") }))
            .collect();
        assert_eq!(
            changes,
            [
                None,
                Some(Change::Failing),
                None,
                None,
                Some(Change::Recovered),
                None,
                Some(Change::Failing)
            ]
        );
    }
}
