//! wrk's report (Debian's `wrk`, run by the tests inside a host's namespace), read into numbers.

/// What one wrk run counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WrkReport {
    /// Requests completed.
    pub requests: u64,
    /// Connections refused or not made (`connect`).
    pub connect: u64,
    /// Connections cut while reading or writing, or answers that never came.
    pub cut: u64,
    /// Answers that were not 2xx or 3xx.
    pub non2xx: u64,
}

impl WrkReport {
    /// Reads wrk's text output.
    ///
    /// # Panics
    ///
    /// When the output has no request count (wrk did not run).
    pub fn parse(out: &str) -> Self {
        let requests = out
            .lines()
            .find_map(|l| {
                l.trim()
                    .split_once(" requests in ")
                    .map(|(n, _)| n.trim().parse().unwrap())
            })
            .unwrap_or_else(|| panic!("no request count in:\n{out}"));
        let non2xx = out
            .lines()
            .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
            .map_or(0, |n| n.trim().parse().unwrap());
        let socket = |what: &str| -> u64 {
            out.lines()
                .find_map(|l| l.trim().strip_prefix("Socket errors:"))
                .and_then(|rest| {
                    rest.split(',').find_map(|kv| {
                        let mut w = kv.split_whitespace();
                        (w.next()? == what).then(|| w.next()?.parse().ok())?
                    })
                })
                .unwrap_or(0)
        };
        Self {
            requests,
            connect: socket("connect"),
            cut: socket("read") + socket("write") + socket("timeout"),
            non2xx,
        }
    }

    /// Every request that did not get a good answer.
    pub fn failed(&self) -> u64 {
        self.connect + self.cut + self.non2xx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counts_and_socket_errors() {
        let out = "Running 6s test @ https://127.0.0.1:443/\n  22228 requests in 6.07s, 10.58MB read\n  Socket errors: connect 1, read 8, write 2, timeout 3\n  Non-2xx or 3xx responses: 4\n";
        let r = WrkReport::parse(out);
        assert_eq!(
            r,
            WrkReport {
                requests: 22228,
                connect: 1,
                cut: 13,
                non2xx: 4
            }
        );
        assert_eq!(r.failed(), 18);
        let clean = WrkReport::parse("  100 requests in 1.00s, 1KB read\n");
        assert_eq!(clean.failed(), 0);
    }
}
