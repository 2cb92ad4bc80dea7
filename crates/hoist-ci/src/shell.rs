//! Quoting for the two languages a generated file mixes: YAML scalars and POSIX shell words.

/// A YAML single-quoted scalar: any text, `'` doubled.
pub(crate) fn yaml(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A shell word: bare when it is only safe characters, else single-quoted.
pub(crate) fn word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '='))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(yaml("it's"), "'it''s'");
        assert_eq!(word("staging"), "staging");
        assert_eq!(word("a b"), "'a b'");
        assert_eq!(word("it's"), r"'it'\''s'");
    }
}
