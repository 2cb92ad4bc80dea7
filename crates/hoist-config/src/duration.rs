//! Durations as `hoist.toml` writes them: `"500ms"`, `"10s"`, `"5m"`, `"1h"`, `"1m30s"`.

use std::time::Duration;

/// Units in the order they are tried (`ms` before `m`) and printed (largest first).
const UNITS: &[(&str, u64)] = &[
    ("h", 3_600_000_000_000),
    ("ms", 1_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DurationError {
    #[error(
        "`{0}` is not a duration; write a number with a unit, like \"30s\", \"500ms\", \"5m\", \"1h\" or \"1m30s\""
    )]
    Malformed(String),
    #[error("`{0}` has no unit; add one, like \"{0}s\" (units: h, m, s, ms)")]
    NoUnit(String),
    #[error("`{0}` is too long")]
    Overflow(String),
}

/// Parses a sequence of `<integer><unit>` parts, like Go's `time.ParseDuration` without signs
/// or fractions.
pub(crate) fn parse(input: &str) -> Result<Duration, DurationError> {
    let malformed = || DurationError::Malformed(input.to_owned());
    if !input.is_empty() && input.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DurationError::NoUnit(input.to_owned()));
    }
    let mut rest = input;
    let mut total: u64 = 0;
    if rest.is_empty() {
        return Err(malformed());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(malformed());
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| DurationError::Overflow(input.to_owned()))?;
        rest = &rest[digits..];
        let (unit, nanos) = UNITS
            .iter()
            .find(|(unit, _)| rest.starts_with(unit))
            .ok_or_else(malformed)?;
        rest = &rest[unit.len()..];
        total = number
            .checked_mul(*nanos)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(|| DurationError::Overflow(input.to_owned()))?;
    }
    Ok(Duration::from_nanos(total))
}

/// Prints a duration so that [`parse`] reads it back, in seconds as Kubernetes counts them:
/// `"60s"`, `"90s"`, `"0s"`; sub-second values as `"500ms"` (or `"1500us"`, `"10ns"`).
pub(crate) fn format(d: Duration) -> String {
    let nanos = d.as_nanos();
    let (size, unit) = [
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ]
    .into_iter()
    .find(|(size, _)| nanos.is_multiple_of(*size))
    .unwrap_or((1, "ns"));
    format!("{}{unit}", nanos / size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("5m"), Ok(Duration::from_mins(5)));
        assert_eq!(parse("1h"), Ok(Duration::from_hours(1)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert_eq!(parse("1s500ms"), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn refuses_garbage_with_the_allowed_form() {
        assert_eq!(parse("30"), Err(DurationError::NoUnit("30".to_owned())));
        assert!(parse("30").unwrap_err().to_string().contains("\"30s\""));
        for bad in ["", "s", "1.5s", "-1s", "10 s", "10sec", "1d", "m1"] {
            assert_eq!(
                parse(bad),
                Err(DurationError::Malformed(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(matches!(
            parse("99999999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn formats_what_it_parses() {
        for (d, s) in [
            (90, "90s"),
            (60, "60s"),
            (3600, "3600s"),
            (0, "0s"),
            (30, "30s"),
        ] {
            assert_eq!(format(Duration::from_secs(d)), s);
            assert_eq!(parse(s), Ok(Duration::from_secs(d)));
        }
        assert_eq!(format(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format(Duration::from_nanos(1_001)), "1001ns");
        assert_eq!(parse("1001ns"), Ok(Duration::from_nanos(1_001)));
    }
}
