//! Asynchronous (`Event`) invocations, run the way Lambda's event queue runs them.
//!
//! AWS (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html>):
//! when the function returns an error (its own, or the runtime's such as a timeout), Lambda runs
//! it up to two more times, one minute after the first attempt and two minutes after the second;
//! `AWS::Lambda::EventInvokeConfig` lowers `MaximumRetryAttempts` (0–2) and
//! `MaximumEventAgeInSeconds` (60–21600, default 6 hours). A throttled event goes back to the
//! queue and is tried again, waiting from 1 second doubling up to 5 minutes, until it is too old.
//! Every attempt keeps the request id. A discarded event is logged (destinations and dead-letter
//! queues are not emulated).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{Invocation, InvokeError, Outcome, Runtime};

/// Lambda's asynchronous-invocation settings of one function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsyncConfig {
    /// Retries after a function error (0–2).
    pub max_retry_attempts: u32,
    /// How old an event may get before Lambda discards it.
    pub max_event_age: Duration,
}

impl Default for AsyncConfig {
    fn default() -> Self {
        AsyncConfig {
            max_retry_attempts: 2,
            max_event_age: Duration::from_secs(6 * 60 * 60),
        }
    }
}

/// Lambda's waits, in units of its one minute (tests shorten the unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryTiming {
    /// One minute in AWS: the wait before the second attempt; the third waits two.
    pub unit: Duration,
}

impl Default for RetryTiming {
    fn default() -> Self {
        RetryTiming {
            unit: Duration::from_secs(60),
        }
    }
}

impl RetryTiming {
    /// The wait after the `failures`-th function error (1-based).
    pub fn after_function_error(&self, failures: u32) -> Duration {
        self.unit * failures
    }

    /// The wait after the `throttles`-th throttle (1-based): 1 s doubling up to 5 minutes.
    pub fn after_throttle(&self, throttles: u32) -> Duration {
        let first = self.unit / 60;
        let doubled = first.saturating_mul(1u32 << throttles.saturating_sub(1).min(16));
        doubled.min(self.unit * 5)
    }
}

/// What happened to an event (one per attempt that ran, and how it ended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Succeeded {
        attempts: u32,
    },
    /// Every allowed attempt failed with a function error.
    RetriesExhausted {
        attempts: u32,
        error_type: String,
    },
    /// Older than `max_event_age` before it could run again.
    TooOld {
        attempts: u32,
    },
    /// stackgate could not run it (function removed, setup failed).
    NotRun {
        attempts: u32,
        error: String,
    },
}

/// Runs `invocation` of `function` until it succeeds or Lambda would give up; logs each retry
/// and the end.
pub async fn run(
    runtime: Arc<Runtime>,
    function: String,
    invocation: Invocation,
    config: AsyncConfig,
    timing: RetryTiming,
) -> Ended {
    let queued = Instant::now();
    let request_id = invocation.request_id.clone().unwrap_or_default();
    let (mut attempts, mut failures, mut throttles) = (0u32, 0u32, 0u32);
    loop {
        let wait = match runtime.invoke(&function, invocation.clone()).await {
            Ok(result) => {
                attempts += 1;
                match result.outcome {
                    Outcome::Response { .. } => return Ended::Succeeded { attempts },
                    Outcome::FunctionError { error_type, .. } => {
                        failures += 1;
                        if failures > config.max_retry_attempts {
                            tracing::warn!(
                                target: "stackgate::lambda_api",
                                function = %function,
                                request_id = %request_id,
                                "asynchronous invocation failed with {error_type} on attempt {attempts} of {}: no retries left, Lambda discards the event (destinations and dead-letter queues are not emulated)",
                                config.max_retry_attempts + 1
                            );
                            return Ended::RetriesExhausted {
                                attempts,
                                error_type,
                            };
                        }
                        let wait = timing.after_function_error(failures);
                        tracing::warn!(
                            target: "stackgate::lambda_api",
                            function = %function,
                            request_id = %request_id,
                            "asynchronous invocation failed with {error_type}: Lambda runs it again in {} (attempt {} of {})",
                            human(wait),
                            attempts + 1,
                            config.max_retry_attempts + 1
                        );
                        wait
                    }
                }
            }
            Err(InvokeError::Throttled { limit, .. }) => {
                throttles += 1;
                let wait = timing.after_throttle(throttles);
                tracing::info!(
                    target: "stackgate::lambda_api",
                    function = %function,
                    request_id = %request_id,
                    "asynchronous invocation throttled (reserved concurrency {limit}): back in the queue, tried again in {}",
                    human(wait)
                );
                wait
            }
            Err(error) => {
                tracing::warn!(
                    target: "stackgate::lambda_api",
                    function = %function,
                    request_id = %request_id,
                    "asynchronous invocation not run: {error}"
                );
                return Ended::NotRun {
                    attempts,
                    error: error.to_string(),
                };
            }
        };
        if queued.elapsed() + wait > config.max_event_age {
            tracing::warn!(
                target: "stackgate::lambda_api",
                function = %function,
                request_id = %request_id,
                "asynchronous event would be older than its maximum event age ({}) at its next attempt: Lambda discards it",
                human(config.max_event_age)
            );
            return Ended::TooOld { attempts };
        }
        tokio::time::sleep(wait).await;
    }
}

/// `1 min`, `2 min`, `1 s`, `250 ms`.
fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms >= 60_000 && ms.is_multiple_of(60_000) {
        format!("{} min", ms / 60_000)
    } else if ms >= 1000 && ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_waits() {
        let t = RetryTiming::default();
        assert_eq!(t.after_function_error(1), Duration::from_secs(60));
        assert_eq!(t.after_function_error(2), Duration::from_secs(120));
        assert_eq!(t.after_throttle(1), Duration::from_secs(1));
        assert_eq!(t.after_throttle(2), Duration::from_secs(2));
        assert_eq!(t.after_throttle(9), Duration::from_secs(256));
        assert_eq!(t.after_throttle(10), Duration::from_secs(300));
        assert_eq!(t.after_throttle(40), Duration::from_secs(300));
        assert_eq!(human(Duration::from_secs(120)), "2 min");
        assert_eq!(human(Duration::from_secs(6 * 3600)), "360 min");
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
    }

    #[test]
    fn shorter_unit_scales_every_wait() {
        let t = RetryTiming {
            unit: Duration::from_millis(600),
        };
        assert_eq!(t.after_function_error(2), Duration::from_millis(1200));
        assert_eq!(t.after_throttle(1), Duration::from_millis(10));
        assert_eq!(t.after_throttle(30), Duration::from_millis(3000));
    }
}
