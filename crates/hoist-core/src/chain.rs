//! An error and its causes on one line, `a: b: c`: how an error reads where there is one line
//! for it (the agent's API answers, `hoist doctor`'s checks). The CLI's own report prints the
//! causes one per line instead (`hoist/src/report.rs`).

/// `e`, then each of its sources, joined by `: `.
pub fn error_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("cannot reach the agent")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn causes_follow_on_one_line() {
        let inner = std::io::Error::other("connection refused");
        assert_eq!(
            error_line(&Outer(inner)),
            "cannot reach the agent: connection refused"
        );
    }
}
