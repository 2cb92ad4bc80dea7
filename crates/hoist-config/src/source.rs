//! Byte spans to `file:line:column`.

use std::ops::Range;

use crate::error::Location;

/// The text of one config file, with its line starts indexed for span lookups.
pub(crate) struct Source<'a> {
    name: &'a str,
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub(crate) fn new(name: &'a str, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            name,
            text,
            line_starts,
        }
    }

    pub(crate) fn name(&self) -> &'a str {
        self.name
    }

    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    /// The location of the first character of `span` (clamped to the text).
    pub(crate) fn locate(&self, span: &Range<usize>) -> Location {
        let start = floor_char_boundary(self.text, span.start.min(self.text.len()));
        let index = self.line_starts.partition_point(|&s| s <= start) - 1;
        let line_start = self.line_starts[index];
        let line_end = self.text[line_start..]
            .find('\n')
            .map_or(self.text.len(), |i| line_start + i);
        let line_text = self.text[line_start..line_end].trim_end_matches('\r');
        let column = self.text[line_start..start].chars().count() + 1;
        let end = floor_char_boundary(self.text, span.end.clamp(start, line_end));
        Location {
            file: self.name.to_owned(),
            line: index + 1,
            column,
            line_text: line_text.to_owned(),
            width: self.text[start..end].chars().count().max(1),
        }
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Where the value of the dotted `key` (like `app.main`, or `environments.prod.app.main`) is
/// written in `text`, for errors about a value found wrong after loading (a main package that
/// does not exist); `None` when the key is not written there.
pub fn locate_key(file_name: &str, text: &str, key: &str) -> Option<Location> {
    use toml::de::{DeTable, DeValue};
    let parsed = DeTable::parse(text).ok()?;
    let mut table = parsed.get_ref();
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let (_, value) = table.iter().find(|(k, _)| k.get_ref() == part)?;
        if i + 1 == parts.len() {
            return Some(Source::new(file_name, text).locate(&value.span()));
        }
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based() {
        let src = Source::new("hoist.toml", "[app]\nname = \"héllo\"\nport = 0\n");
        let at = src.locate(&(6..10));
        assert_eq!((at.line, at.column, at.width), (2, 1, 4));
        assert_eq!(at.line_text, "name = \"héllo\"");
        let port = src.locate(&(29..30));
        assert_eq!((port.line, port.column), (3, 8));
        assert_eq!(src.locate(&(0..0)).to_string(), "hoist.toml:1:1");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "a = \"é\" x";
        let src = Source::new("f", text);
        let x = text.find('x').unwrap();
        assert_eq!(src.locate(&(x..x + 1)).column, 9);
    }

    #[test]
    fn span_past_the_end_is_clamped() {
        let src = Source::new("f", "a = [\n");
        let at = src.locate(&(6..6));
        assert_eq!((at.line, at.column), (2, 1));
    }
}

#[cfg(test)]
mod locate_tests {
    use super::*;

    #[test]
    fn keys_are_found_in_tables_inline_tables_and_overlays() {
        let text = "[app]\nname = \"a\"\nmain = \"./cmd/x\"\n\n[environments.prod]\napp.main = \"./cmd/y\"\nrun = { replicas = 2 }\n";
        let at = |k| locate_key("hoist.toml", text, k).map(|l| (l.line, l.column));
        assert_eq!(at("app.main"), Some((3, 8)));
        assert_eq!(at("environments.prod.app.main"), Some((6, 12)));
        assert_eq!(at("environments.prod.run.replicas"), Some((7, 20)));
        assert_eq!(at("app.port"), None);
        assert_eq!(at("app.name.x"), None);
    }
}
