//! `$(VAR)` in a container's arguments, expanded by Kubernetes' own rules, so an argument means
//! the same to the local agent as to the kubelet: `--web.listen-address=:$(PORT)` gets the
//! replica's port everywhere.
//!
//! The rules (Kubernetes' `third_party/forked/golang/expansion`): `$(NAME)` is replaced by the
//! variable's value; a name that is not defined stays as written, `$(NAME)`; `$$` is a literal
//! `$` (so `$$(NAME)` gives `$(NAME)`); a `$` before anything else, and an unclosed `$(`, stay
//! as they are. Written here because no crate implements these rules (shell-style expanders
//! treat `$NAME`, `${NAME}` and unknown names differently).

/// `input` with every `$(NAME)` that `lookup` knows replaced by its value.
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let mut chars = after.chars();
        rest = match chars.next() {
            // `$$`: a literal `$`.
            Some('$') => {
                out.push('$');
                chars.as_str()
            }
            // `$(NAME)`, when closed; an unclosed `$(` stays and scanning goes on after it.
            Some('(') => {
                let body = chars.as_str();
                if let Some(close) = body.find(')') {
                    let name = &body[..close];
                    if let Some(value) = lookup(name) {
                        out.push_str(&value);
                    } else {
                        out.push_str("$(");
                        out.push_str(name);
                        out.push(')');
                    }
                    &body[close + 1..]
                } else {
                    out.push_str("$(");
                    body
                }
            }
            // `$` before anything else (or at the end) stays, with that character.
            Some(c) => {
                out.push('$');
                out.push(c);
                chars.as_str()
            }
            None => {
                out.push('$');
                ""
            }
        };
    }
    out.push_str(rest);
    out
}

/// The names `input` refers to as `$(NAME)` (not the escaped `$$(NAME)`), in order, each once.
pub fn references(input: &str) -> Vec<String> {
    let found = std::cell::RefCell::new(Vec::<String>::new());
    expand(input, |name| {
        let mut found = found.borrow_mut();
        if !found.iter().any(|n| n == name) {
            found.push(name.to_owned());
        }
        None
    });
    found.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "PORT" => Some("8080".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    /// The cases of Kubernetes' own expansion tests that apply to one string.
    #[test]
    fn kubernetes_rules() {
        let cases = [
            ("--addr=:$(PORT)", "--addr=:8080"),
            ("$(PORT)$(PORT)", "80808080"),
            ("$(UNKNOWN)", "$(UNKNOWN)"),
            ("$$(PORT)", "$(PORT)"),
            ("$$$(PORT)", "$8080"),
            ("$$$$(PORT)", "$$(PORT)"),
            ("$(PORT", "$(PORT"),
            ("$(", "$("),
            ("$", "$"),
            ("a$", "a$"),
            ("$PORT", "$PORT"),
            ("${PORT}", "${PORT}"),
            ("x$(EMPTY)y", "xy"),
            ("$()", "$()"),
            ("héllo $(PORT) wörld", "héllo 8080 wörld"),
            ("$é", "$é"),
            ("no variables", "no variables"),
        ];
        for (input, want) in cases {
            assert_eq!(expand(input, env), want, "{input}");
        }
    }

    #[test]
    fn references_skip_escapes_and_repeat_once() {
        assert_eq!(
            references("$(PORT) $$(HOME) $(DATA) $(PORT) $(open"),
            ["PORT", "DATA"]
        );
    }
}
