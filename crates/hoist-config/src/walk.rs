//! Typed reads from a parsed TOML table: unknown keys and wrong types become [`ConfigError`]s
//! pointing at the key or value.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use hoist_core::IntOrPercent;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::duration;
use crate::error::{ConfigError, Location};
use crate::field::{Field, Opt};
use crate::source::Source;
use crate::suggest;

type Result<T> = std::result::Result<T, ConfigError>;

/// A string-to-string table such as `run.env`, keyed by the TOML key.
pub(crate) type StrMap = BTreeMap<String, Entry>;

/// One entry of a [`StrMap`]: the key (for key-name checks) and the value.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) key: Field<String>,
    pub(crate) value: Field<String>,
}

/// What [`Table::string_or_table`] found.
pub(crate) enum StringOrTable<'a, 'i> {
    /// The shorthand.
    String(Field<String>),
    /// The full table.
    Table(Table<'a, 'i>),
}

/// A TOML table being read, with its dotted path (`run.health`, `environments.prod.run`).
pub(crate) struct Table<'a, 'i> {
    src: &'a Source<'a>,
    entries: &'a DeTable<'i>,
    path: String,
    at: Location,
}

impl<'a, 'i> Table<'a, 'i> {
    /// The document root.
    pub(crate) fn root(src: &'a Source<'a>, table: &'a Spanned<DeTable<'i>>) -> Self {
        Self {
            src,
            entries: table.get_ref(),
            path: String::new(),
            at: src.locate(&(0..0)),
        }
    }

    /// Where the table starts (its `[header]`, or its inline `{`).
    pub(crate) fn at(&self) -> &Location {
        &self.at
    }

    /// The table itself as a located, dotted key (for errors about the whole table).
    pub(crate) fn as_field(&self) -> Field<()> {
        Field {
            value: (),
            key: self.path.clone(),
            at: self.at.clone(),
        }
    }

    /// The dotted path of `name` in this table.
    pub(crate) fn key(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// Names of the keys present, in file order.
    pub(crate) fn names(&self) -> Vec<(&'a str, Location)> {
        let mut names: Vec<_> = self
            .entries
            .iter()
            .map(|(k, _)| (k.get_ref().as_ref(), k.span()))
            .collect();
        names.sort_by_key(|(_, span)| span.start);
        names
            .into_iter()
            .map(|(name, span)| (name, self.src.locate(&span)))
            .collect()
    }

    /// Refuses the first key (in file order) that is not in `allowed`.
    pub(crate) fn check_keys(&self, allowed: &[&'static str]) -> Result<()> {
        for (name, location) in self.names() {
            if !allowed.contains(&name) {
                return Err(ConfigError::UnknownKey {
                    location: Box::new(location),
                    key: self.key(name),
                    name: name.to_owned(),
                    allowed: allowed.to_vec(),
                    suggestion: suggest::closest(name, allowed),
                });
            }
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Option<(&'a DeValue<'i>, Field<()>)> {
        let value = self.entries.get(name)?;
        Some((value.get_ref(), self.field(name, &value.span())))
    }

    fn field(&self, name: &str, span: &Range<usize>) -> Field<()> {
        Field {
            value: (),
            key: self.key(name),
            at: self.src.locate(span),
        }
    }

    /// A sub-table, `[run.health]` or `health = { … }`.
    pub(crate) fn table(&self, name: &str) -> Result<Option<Table<'a, 'i>>> {
        let Some(value) = self.entries.get(name) else {
            return Ok(None);
        };
        let field = self.field(name, &value.span());
        match value.get_ref() {
            DeValue::Table(entries) => Ok(Some(Table {
                src: self.src,
                entries,
                path: field.key,
                at: field.at,
            })),
            other => Err(wrong_type(&field, "a table", other)),
        }
    }

    /// A value given either as a string (the shorthand for one key of the table) or as a
    /// table: `state = "/data"` or `state = { path = "/data", writers = "many" }`.
    pub(crate) fn string_or_table(&self, name: &str) -> Result<Option<StringOrTable<'a, 'i>>> {
        let Some((value, field)) = self.get(name) else {
            return Ok(None);
        };
        match value {
            DeValue::String(s) => Ok(Some(StringOrTable::String(field.with(s.to_string())))),
            DeValue::Table(_) => Ok(self.table(name)?.map(StringOrTable::Table)),
            other => Err(wrong_type(&field, "a string or a table", other)),
        }
    }

    /// A string value.
    pub(crate) fn string(&self, name: &str) -> Result<Opt<String>> {
        self.get(name).map(|(v, f)| string(&f, v)).transpose()
    }

    /// An integer value (range checks are the caller's).
    pub(crate) fn integer(&self, name: &str) -> Result<Opt<i64>> {
        self.get(name).map(|(v, f)| integer(&f, v)).transpose()
    }

    /// A boolean value.
    pub(crate) fn boolean(&self, name: &str) -> Result<Opt<bool>> {
        self.get(name)
            .map(|(v, f)| match v {
                DeValue::Boolean(b) => Ok(f.with(*b)),
                other => Err(wrong_type(&f, "a boolean (`true` or `false`)", other)),
            })
            .transpose()
    }

    /// An array of strings, each element with its own location.
    pub(crate) fn strings(&self, name: &str) -> Result<Opt<Vec<Field<String>>>> {
        self.array(name, "an array of strings", string)
    }

    /// An array of integers, each element with its own location.
    pub(crate) fn integers(&self, name: &str) -> Result<Opt<Vec<Field<i64>>>> {
        self.array(name, "an array of integers", integer)
    }

    /// An array whose elements `each` reads, each at its own location (`key[i]`).
    fn array<T>(
        &self,
        name: &str,
        what: &'static str,
        each: impl Fn(&Field<()>, &DeValue<'_>) -> Result<Field<T>>,
    ) -> Result<Opt<Vec<Field<T>>>> {
        let Some((value, field)) = self.get(name) else {
            return Ok(None);
        };
        let DeValue::Array(items) = value else {
            return Err(wrong_type(&field, what, value));
        };
        let items = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = Field {
                    value: (),
                    key: format!("{}[{i}]", field.key),
                    at: self.src.locate(&item.span()),
                };
                each(&at, item.get_ref())
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(field.with(items)))
    }

    /// One bound (`"300ms"`) or several (`["300ms", "1.5x"]`), as strings with their
    /// locations; a bare number is refused for its missing unit.
    pub(crate) fn bounds(&self, name: &str) -> Result<Opt<Vec<Field<String>>>> {
        let Some((value, field)) = self.get(name) else {
            return Ok(None);
        };
        let one = |at: &Field<()>, v: &DeValue<'_>| {
            match v {
            DeValue::String(s) => Ok(at.with(s.to_string())),
            DeValue::Integer(n) => Err(at.invalid(format!(
                "a bound needs a unit, found the bare number {n}; write it as a string such as \"{n}%\" or \"{n}ms\""
            ))),
            DeValue::Float(n) => Err(at.invalid(format!(
                "a bound needs a unit, found the bare number {n}; write it as a string such as \"{n}%\" or \"{n}x\""
            ))),
            other => Err(wrong_type(at, "a string or an array of strings", other)),
        }
        };
        match value {
            DeValue::Array(items) => {
                let items = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let at = Field {
                            value: (),
                            key: format!("{}[{i}]", field.key),
                            at: self.src.locate(&item.span()),
                        };
                        one(&at, item.get_ref())
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Some(field.with(items)))
            }
            other => Ok(Some(field.with(vec![one(&field, other)?]))),
        }
    }

    /// A request rate string such as `"10/s"` (its form is checked by validation); a bare
    /// number is refused for its missing unit, which would leave "per what" to a guess.
    pub(crate) fn rate(&self, name: &str) -> Result<Opt<String>> {
        let Some((value, field)) = self.get(name) else {
            return Ok(None);
        };
        match value {
            DeValue::String(s) => Ok(Some(field.with(s.to_string()))),
            DeValue::Integer(n) => Err(field.invalid(format!(
                "a rate needs a unit, found the bare number {n}; write it as a string such as \"{n}/s\" (a second) or \"{n}/m\" (a minute)"
            ))),
            DeValue::Float(n) => Err(field.invalid(format!(
                "a rate needs a unit and a whole number of requests, found the bare number {n}; write it as a string such as \"10/s\" or \"30/m\""
            ))),
            other => Err(wrong_type(&field, "a rate string like \"10/s\"", other)),
        }
    }

    /// A table of string values, such as `run.env` (absent: empty).
    pub(crate) fn string_map(&self, name: &str) -> Result<StrMap> {
        let Some(table) = self.table(name)? else {
            return Ok(StrMap::new());
        };
        let mut map = StrMap::new();
        for (key, value) in table.entries {
            let name = key.get_ref().as_ref();
            let key_field = table.field(name, &key.span()).with(name.to_owned());
            let value_field = table.field(name, &value.span());
            let entry = Entry {
                value: string(&value_field, value.get_ref())?,
                key: key_field,
            };
            map.insert(name.to_owned(), entry);
        }
        Ok(map)
    }

    /// A duration string such as `"10s"`.
    pub(crate) fn duration(&self, name: &str) -> Result<Opt<Duration>> {
        let Some((value, field)) = self.get(name) else {
            return Ok(None);
        };
        match value {
            DeValue::String(s) => duration::parse(s)
                .map(|d| Some(field.with(d)))
                .map_err(|e| field.invalid(e.to_string())),
            DeValue::Integer(i) => Err(field.invalid(format!(
                "a duration needs a unit, found the bare number {i}; write it as a string such as \"{i}s\" (units: h, m, s, ms)"
            ))),
            other => Err(wrong_type(&field, "a duration string like \"30s\"", other)),
        }
    }

    /// A replica count, `1`, or a percentage of the replicas, `"25%"`.
    pub(crate) fn int_or_percent(&self, name: &str) -> Result<Opt<IntOrPercent>> {
        let Some((value, field)) = self.get(name) else {
            return Ok(None);
        };
        match value {
            DeValue::Integer(_) => {
                let n = integer(&field, value)?;
                let count = u32::try_from(n.value).map_err(|_| {
                    n.invalid(format!(
                        "must be a count of 0 or more or a percentage like \"25%\", found {}",
                        n.value
                    ))
                })?;
                Ok(Some(field.with(IntOrPercent::Int(count))))
            }
            DeValue::String(s) => percent(&field, s).map(Some),
            other => Err(wrong_type(
                &field,
                "an integer or a percentage string like \"25%\"",
                other,
            )),
        }
    }

    /// A Kubernetes quantity, written as a string (`"250m"`) or a plain number (`1`, `0.5`).
    pub(crate) fn quantity(&self, name: &str) -> Result<Opt<String>> {
        let Some((value, field)) = self.get(name) else {
            return Ok(None);
        };
        match value {
            DeValue::String(s) => Ok(Some(field.with(s.to_string()))),
            DeValue::Integer(i) => Ok(Some(field.with(i.to_string()))),
            DeValue::Float(f) => Ok(Some(field.with(f.to_string()))),
            other => Err(wrong_type(&field, "a quantity string like \"250m\"", other)),
        }
    }
}

fn string(field: &Field<()>, value: &DeValue<'_>) -> Result<Field<String>> {
    match value {
        DeValue::String(s) => Ok(field.with(s.to_string())),
        other => Err(wrong_type(field, "a string", other)),
    }
}

fn integer(field: &Field<()>, value: &DeValue<'_>) -> Result<Field<i64>> {
    match value {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map(|n| field.with(n))
            .map_err(|_| field.invalid(format!("integer {i} is out of range"))),
        other => Err(wrong_type(field, "an integer", other)),
    }
}

fn percent(field: &Field<()>, s: &str) -> Result<Field<IntOrPercent>> {
    let bad = || {
        field.invalid(format!(
            "expected a count like 1 or a percentage from \"0%\" to \"100%\", found \"{s}\""
        ))
    };
    let digits = s.strip_suffix('%').ok_or_else(bad)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match digits.parse::<u32>() {
        Ok(p) if p <= 100 => Ok(field.with(IntOrPercent::Percent(p))),
        _ => Err(bad()),
    }
}

/// "expected X, found a string".
pub(crate) fn wrong_type(
    field: &Field<()>,
    expected: &'static str,
    found: &DeValue<'_>,
) -> ConfigError {
    ConfigError::WrongType {
        location: Box::new(field.at.clone()),
        key: field.key.clone(),
        expected,
        found: type_name(found),
    }
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}
