//! A canary split: which of an app's two revisions a request goes to.
//!
//! The weight is an atomic the agent turns step by step; the decision per request is a hash
//! compared with it, so it costs no lock. With stickiness, the hash is of the client's cookie or
//! header value (FNV-1a, the same in every process and after a restart), so one client stays
//! on one revision, and a client on the canary at 5% is still on it at 25% (its ticket is below
//! both). Without, a per-split counter goes through the same mixer, spreading requests evenly.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use hoist_core::Sticky;
use http::HeaderMap;

use super::BackendSet;

/// The canary side of a route: its revision, its ready replicas, and its share.
pub struct Split {
    /// The canary revision (the route's own backends are the stable one).
    pub revision: String,
    /// The canary's ready replicas.
    pub backends: Arc<BackendSet>,
    weight: AtomicU8,
    sticky: Option<Sticky>,
    turn: AtomicU64,
}

impl Split {
    /// A split sending nothing to `revision` yet (weight 0).
    pub fn new(
        revision: impl Into<String>,
        backends: Arc<BackendSet>,
        sticky: Option<Sticky>,
    ) -> Arc<Self> {
        Arc::new(Self {
            revision: revision.into(),
            backends,
            weight: AtomicU8::new(0),
            sticky,
            turn: AtomicU64::new(0),
        })
    }

    /// Sets the canary's share, in percent (capped at 100).
    pub fn set_weight(&self, percent: u8) {
        self.weight.store(percent.min(100), Ordering::Relaxed);
    }

    /// The canary's share, in percent.
    pub fn weight(&self) -> u8 {
        self.weight.load(Ordering::Relaxed)
    }

    /// Whether a request with `headers` goes to the canary.
    pub fn to_canary(&self, headers: &HeaderMap) -> bool {
        let weight = u64::from(self.weight());
        if weight == 0 {
            return false;
        }
        if weight >= 100 {
            return true;
        }
        let ticket = match self.sticky.as_ref().and_then(|s| key(s, headers)) {
            Some(value) => mix(fnv1a(value)),
            None => mix(self.turn.fetch_add(1, Ordering::Relaxed)),
        };
        ticket % 100 < weight
    }
}

/// The sticky value of a request: the named header, or the named cookie's value.
fn key<'a>(sticky: &Sticky, headers: &'a HeaderMap) -> Option<&'a [u8]> {
    match sticky {
        Sticky::Header(name) => headers
            .get(name.as_str())
            .map(http::HeaderValue::as_bytes)
            .filter(|v| !v.is_empty()),
        Sticky::Cookie(name) => headers
            .get_all(http::header::COOKIE)
            .iter()
            .flat_map(|h| h.as_bytes().split(|b| *b == b';'))
            .find_map(|pair| {
                let pair = pair.trim_ascii();
                let (k, v) = pair.split_at(pair.iter().position(|b| *b == b'=')?);
                (k == name.as_bytes())
                    .then(|| &v[1..])
                    .filter(|v| !v.is_empty())
            }),
    }
}

/// FNV-1a, 64 bits: stable across processes, unlike std's randomly keyed hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// SplitMix64's finalizer: spreads consecutive counters and similar hashes over all 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::Balance;

    fn split(sticky: Option<Sticky>) -> Arc<Split> {
        Split::new("2", Arc::new(BackendSet::new(Balance::RoundRobin)), sticky)
    }

    #[test]
    fn the_share_follows_the_weight() {
        let s = split(None);
        let none = HeaderMap::new();
        assert!(!(0..1000).any(|_| s.to_canary(&none)), "weight 0: nothing");
        for weight in [5u8, 25, 50] {
            s.set_weight(weight);
            let n = (0..10_000).filter(|_| s.to_canary(&none)).count();
            let want = usize::from(weight) * 100;
            assert!(n.abs_diff(want) < 250, "{weight}%: {n} of 10000");
        }
        s.set_weight(100);
        assert!((0..1000).all(|_| s.to_canary(&none)));
        s.set_weight(200);
        assert_eq!(s.weight(), 100);
    }

    #[test]
    fn sticky_clients_stay_and_stay_on_the_canary_as_it_grows() {
        let s = split(Some(Sticky::Cookie("session".into())));
        s.set_weight(20);
        let request = |user: usize| {
            let mut h = HeaderMap::new();
            h.insert(
                http::header::COOKIE,
                format!("theme=dark; session=user-{user}; x=1")
                    .parse()
                    .unwrap(),
            );
            h
        };
        let mut on_canary = Vec::new();
        for user in 0..1000 {
            let first = s.to_canary(&request(user));
            assert!((0..5).all(|_| s.to_canary(&request(user)) == first));
            if first {
                on_canary.push(user);
            }
        }
        assert!(on_canary.len().abs_diff(200) < 60, "{}", on_canary.len());
        s.set_weight(50);
        assert!(on_canary.iter().all(|u| s.to_canary(&request(*u))));
        // Without the cookie: split per request.
        let bare = HeaderMap::new();
        let n = (0..1000).filter(|_| s.to_canary(&bare)).count();
        assert!(n > 350 && n < 650, "{n}");
    }

    #[test]
    fn a_header_keys_the_split_too() {
        let s = split(Some(Sticky::Header("x-user-id".into())));
        s.set_weight(50);
        let mut h = HeaderMap::new();
        h.insert("X-User-Id", "42".parse().unwrap());
        let first = s.to_canary(&h);
        assert!((0..20).all(|_| s.to_canary(&h) == first));
        assert_eq!(key(&Sticky::Cookie("s".into()), &HeaderMap::new()), None);
    }
}
