//! "Did you mean …?" for misspelt keys.

/// The candidate closest to `input` by edit distance, if it is close enough to be an obvious typo
/// (at most one edit per three characters, and at least one).
pub(crate) fn closest(input: &str, candidates: &[&'static str]) -> Option<&'static str> {
    let limit = (input.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (distance(&input.to_lowercase(), c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, counting characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_obvious_typos_only() {
        let keys = &["replicas", "env", "health", "rollout"];
        assert_eq!(closest("replica", keys), Some("replicas"));
        assert_eq!(closest("helth", keys), Some("health"));
        assert_eq!(closest("Env", keys), Some("env"));
        assert_eq!(closest("timeout", keys), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
