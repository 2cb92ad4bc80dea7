//! Faults the proxy injects into one revision's requests (`hoist chaos`): added latency, a share
//! of requests answered with an error status by the proxy itself, a share of connections reset
//! before any answer. Each fault has an end time and is ignored past it, so a fault is bounded
//! even if nobody removes it; it lives in the proxy's memory only, so an agent that dies takes
//! its faults with it.
//!
//! The check per request is one atomic load (no fault: nothing else), next to the revision's
//! traffic counters ([`super::traffic::RevisionTraffic`]), so the canary analysis sees an
//! injected error or delay exactly as it would see the revision's own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use serde::{Deserialize, Serialize};

/// One revision's faults, as `hoist chaos` sets them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyFault {
    /// Added before each request is sent to a replica.
    #[serde(default, with = "humantime_serde_opt")]
    pub latency: Option<Duration>,
    /// Percent of requests the proxy answers itself with `abort_status`.
    #[serde(default)]
    pub abort_percent: u8,
    /// The status of an aborted request (default 503).
    #[serde(default)]
    pub abort_status: Option<u16>,
    /// Percent of requests whose client connection is closed without an answer.
    #[serde(default)]
    pub reset_percent: u8,
}

impl ProxyFault {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.latency.is_none() && self.abort_percent == 0 && self.reset_percent == 0
    }
}

/// A fault with its end.
#[derive(Debug)]
pub(crate) struct Active {
    pub(crate) fault: ProxyFault,
    pub(crate) until: Instant,
}

/// Put on a response by the proxy when the client's connection is to be closed without it (an
/// injected reset); the connection's service turns it into an error, which makes hyper close
/// the connection.
#[derive(Debug, Clone, Copy)]
pub struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by an injected fault")
    }
}

impl std::error::Error for ResetConnection {}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    /// Send it on, after this delay.
    Forward(Option<Duration>),
    /// Answer with this status, after the delay.
    Abort(Option<Duration>, u16),
    /// Close the client's connection without an answer, after the delay.
    Reset(Option<Duration>),
}

impl Injected {
    /// Waits out the fault's delay, if it has one (the proxy and the synthetic requests
    /// both do, before acting on the rest of the fault).
    pub(crate) async fn delay(&self) {
        if let Self::Forward(Some(d)) | Self::Abort(Some(d), _) | Self::Reset(Some(d)) = self {
            tokio::time::sleep(*d).await;
        }
    }
}

/// The fault slot of one revision.
#[derive(Debug, Default)]
pub(crate) struct FaultSlot {
    active: ArcSwapOption<Active>,
    turn: AtomicU64,
}

impl FaultSlot {
    /// Sets (or with `None` removes) the fault until `until`.
    pub(crate) fn set(&self, fault: Option<ProxyFault>, until: Instant) {
        self.active.store(
            fault
                .filter(|f| !f.is_empty())
                .map(|fault| std::sync::Arc::new(Active { fault, until })),
        );
    }

    /// The fault in force now, with its end.
    pub(crate) fn current(&self) -> Option<(ProxyFault, Instant)> {
        let a = self.active.load_full()?;
        (Instant::now() < a.until).then(|| (a.fault.clone(), a.until))
    }

    /// The decision for the next request. Request n draws the ticket 37 n mod 100: every 100
    /// requests in a row hold each ticket once, spread out, so a short window sees its shares
    /// exactly; tickets below `reset_percent` are reset, the next `abort_percent` aborted.
    pub(crate) fn decide(&self) -> Injected {
        let guard = self.active.load();
        let Some(a) = guard.as_ref() else {
            return Injected::Forward(None);
        };
        if Instant::now() >= a.until {
            return Injected::Forward(None);
        }
        let ticket = self.turn.fetch_add(1, Ordering::Relaxed).wrapping_mul(37) % 100;
        let f = &a.fault;
        let reset = u64::from(f.reset_percent.min(100));
        if ticket < reset {
            Injected::Reset(f.latency)
        } else if ticket < reset + u64::from(f.abort_percent) {
            Injected::Abort(f.latency, f.abort_status.unwrap_or(503))
        } else {
            Injected::Forward(f.latency)
        }
    }
}

/// `Option<Duration>` as a humane string (`"200ms"`) in JSON.
mod humantime_serde_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option, reason = "serde's `with` passes a reference")]
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&format!("{}ms", d.as_millis())),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let ms = text
            .strip_suffix("ms")
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not like `200ms`")))?;
        Ok(Some(Duration::from_millis(ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_spread_evenly_and_a_fault_ends_by_itself() {
        let slot = FaultSlot::default();
        assert_eq!(slot.decide(), Injected::Forward(None));
        let later = Instant::now() + Duration::from_mins(1);
        slot.set(
            Some(ProxyFault {
                latency: Some(Duration::from_millis(5)),
                abort_percent: 20,
                abort_status: Some(500),
                reset_percent: 10,
            }),
            later,
        );
        let mut counts = (0, 0, 0);
        for _ in 0..100 {
            match slot.decide() {
                Injected::Forward(d) => {
                    assert_eq!(d, Some(Duration::from_millis(5)));
                    counts.0 += 1;
                }
                Injected::Abort(_, code) => {
                    assert_eq!(code, 500);
                    counts.1 += 1;
                }
                Injected::Reset(_) => counts.2 += 1,
            }
        }
        assert_eq!(counts, (70, 20, 10), "each share exactly, in 100 requests");
        slot.set(
            Some(ProxyFault {
                abort_percent: 100,
                ..ProxyFault::default()
            }),
            Instant::now(),
        );
        assert_eq!(slot.decide(), Injected::Forward(None), "ended");
        assert!(slot.current().is_none());
        slot.set(None, later);
        assert_eq!(slot.decide(), Injected::Forward(None));
    }

    #[test]
    fn a_fault_reads_back_from_json() {
        let f: ProxyFault =
            serde_json::from_str(r#"{"latency":"200ms","abort_percent":5}"#).unwrap();
        assert_eq!(f.latency, Some(Duration::from_millis(200)));
        assert_eq!(
            serde_json::from_str::<ProxyFault>(&serde_json::to_string(&f).unwrap()).unwrap(),
            f
        );
        assert!(serde_json::from_str::<ProxyFault>(r#"{"latency":"2s"}"#).is_err());
    }
}
