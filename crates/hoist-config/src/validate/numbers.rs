//! Integer ranges and durations Kubernetes counts in whole seconds.

use std::time::Duration;

use crate::duration;
use crate::error::ConfigError;
use crate::field::Field;

type Result<T> = std::result::Result<T, ConfigError>;

/// A TCP port, 1 to 65535.
pub(crate) fn port(f: &Field<i64>) -> Result<u16> {
    u16::try_from(f.value)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| f.invalid(format!("must be a port from 1 to 65535, found {}", f.value)))
}

/// A count from `min` to `max` (inclusive); the message omits an upper bound of `i32::MAX`,
/// the largest count Kubernetes stores.
pub(crate) fn count(f: &Field<i64>, min: u32, max: u32) -> Result<u32> {
    match u32::try_from(f.value) {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ if max >= i32::MAX as u32 => {
            Err(f.invalid(format!("must be {min} or more, found {}", f.value)))
        }
        _ => Err(f.invalid(format!("must be from {min} to {max}, found {}", f.value))),
    }
}

/// The largest replica count or threshold Kubernetes accepts (an int32).
pub(crate) const MAX_COUNT: u32 = i32::MAX as u32;

/// A duration in whole seconds of at least `min_secs`, as Kubernetes stores probe times,
/// grace periods and deadlines.
pub(crate) fn seconds(f: &Field<Duration>, min_secs: u64) -> Result<Duration> {
    if f.value.subsec_nanos() != 0 {
        return Err(f.invalid(format!(
            "must be whole seconds (Kubernetes counts this in seconds), found \"{}\"",
            duration::format(f.value)
        )));
    }
    if f.value.as_secs() < min_secs {
        return Err(f.invalid(format!(
            "must be at least \"{}\", found \"{}\"",
            duration::format(Duration::from_secs(min_secs)),
            duration::format(f.value)
        )));
    }
    Ok(f.value)
}

/// [`seconds`] for an optional field, with a default.
pub(crate) fn seconds_or(
    f: Option<&Field<Duration>>,
    min_secs: u64,
    default: Duration,
) -> Result<Duration> {
    f.map_or(Ok(default), |f| seconds(f, min_secs))
}
