//! Kubernetes resource quantities (`"250m"`, `"128Mi"`), checked before Kubernetes sees them.

/// Suffixes memory may carry: binary (`Ki`…), decimal (`k`…), or none (bytes).
const MEMORY_SUFFIXES: &[&str] = &[
    "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E",
];

/// Why a quantity was refused; the message says what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum QuantityError {
    #[error(
        "`{0}` is not a CPU amount; write cores like \"1\" or \"0.5\", or millicores like \"250m\""
    )]
    Cpu(String),
    #[error(
        "`{input}` is not a memory amount; write bytes with a suffix, like \"128Mi\", \"1Gi\" or \"500M\" (suffixes: Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E, or an exponent like \"1e3\"){}",
        hint.as_deref().map(|h| format!("; did you mean \"{h}\"?")).unwrap_or_default()
    )]
    Memory { input: String, hint: Option<String> },
    #[error(
        "`{0}` is finer than Kubernetes' CPU precision of 1m (0.001 cores); round it to whole millicores, like \"250m\""
    )]
    CpuPrecision(String),
    #[error("`{0}` is no memory at all; a container with a memory limit of 0 cannot start")]
    ZeroMemory(String),
}

/// A CPU amount: a non-negative decimal number of cores, optionally in millicores (`m`).
pub(crate) fn cpu(input: &str) -> Result<(), QuantityError> {
    let (number, places) = match input.strip_suffix('m') {
        Some(milli) => (milli, 0),
        None => (input, 3),
    };
    if !is_decimal(number) {
        return Err(QuantityError::Cpu(input.to_owned()));
    }
    let fraction = number.split_once('.').map_or("", |(_, f)| f);
    if fraction.trim_end_matches('0').len() > places {
        return Err(QuantityError::CpuPrecision(input.to_owned()));
    }
    Ok(())
}

/// A memory amount: a non-negative decimal number with a binary or decimal SI suffix or a
/// decimal exponent (`1e3`), as Kubernetes' `resource.Quantity` accepts.
pub(crate) fn memory(input: &str) -> Result<(), QuantityError> {
    let digits = input
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(input.len());
    let (number, suffix) = input.split_at(digits);
    let ok = is_decimal(number)
        && (suffix.is_empty() || MEMORY_SUFFIXES.contains(&suffix) || is_exponent(suffix));
    if ok && is_zero(number) {
        return Err(QuantityError::ZeroMemory(input.to_owned()));
    }
    if ok {
        return Ok(());
    }
    let hint = guess(number, suffix);
    Err(QuantityError::Memory {
        input: input.to_owned(),
        hint,
    })
}

/// Whether a quantity's number is zero (`0`, `0.0`, `0m`, `0Mi`).
pub(crate) fn is_zero(quantity: &str) -> bool {
    quantity
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .all(|c| c == '0' || c == '.')
}

/// `128MB` → `128Mi`: the binary suffix people usually mean by a byte unit.
fn guess(number: &str, suffix: &str) -> Option<String> {
    let lower = suffix.to_ascii_lowercase();
    let stem = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let letter = match stem {
        "k" => "K",
        "m" => "M",
        "g" => "G",
        "t" => "T",
        "p" => "P",
        "e" => "E",
        _ => return None,
    };
    is_decimal(number).then(|| format!("{number}{letter}i"))
}

/// `1`, `0.5`, `1.`, `.5`: digits with at most one dot, and at least one digit.
fn is_decimal(s: &str) -> bool {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    !(whole.is_empty() && fraction.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// `e3`, `E-2`, `e+6`.
fn is_exponent(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(['e', 'E']) else {
        return false;
    };
    let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_takes_cores_and_millicores() {
        for ok in [
            "250m", "1", "0.5", "2", "1500m", ".5", "0.250", "0.2500", "1.0m",
        ] {
            assert_eq!(cpu(ok), Ok(()), "{ok}");
        }
        for bad in ["lots", "", "m", "-1", "1Gi", "1.2.3", "250 m", "1k"] {
            assert_eq!(cpu(bad), Err(QuantityError::Cpu(bad.to_owned())), "{bad}");
        }
        assert!(cpu("lots").unwrap_err().to_string().contains("\"250m\""));
        for fine in ["1.5m", "0.0005", "0.1234"] {
            assert_eq!(
                cpu(fine),
                Err(QuantityError::CpuPrecision(fine.to_owned())),
                "{fine}"
            );
        }
    }

    #[test]
    fn memory_takes_kubernetes_suffixes() {
        for ok in [
            "128Mi", "1Gi", "500M", "1e3", "1E6", "1024", "1.5Gi", "64k", "2Ti",
        ] {
            assert_eq!(memory(ok), Ok(()), "{ok}");
        }
        for bad in [
            "lots", "", "Mi", "-1Mi", "128MB", "128mb", "1e", "12 Mi", "1ki",
        ] {
            assert!(memory(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn memory_error_says_what_is_allowed_and_guesses() {
        let e = memory("128MB").unwrap_err().to_string();
        assert!(e.contains("`128MB` is not a memory amount"), "{e}");
        assert!(e.contains("Mi, Gi"), "{e}");
        assert!(e.ends_with("did you mean \"128Mi\"?"), "{e}");
        let e = memory("lots").unwrap_err().to_string();
        assert!(!e.contains("did you mean"), "{e}");
    }
}
