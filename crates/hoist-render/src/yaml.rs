//! Objects → YAML that Kubernetes (a YAML 1.1 reader) reads back as written.
//!
//! `serde-saphyr` quotes every string a YAML 1.1 parser would take for something else (`on`,
//! `yes`, `NO`, `1:30`, `2001-12-14`, `0x1F`, `~`), so a ConfigMap value stays a string. Key
//! order comes from the `k8s-openapi` types (`apiVersion`, `kind`, `metadata`, `spec`, then the
//! remaining fields alphabetically; a ConfigMap's `data` is moved after its `metadata`) and from `BTreeMap`s for labels, annotations and data, so
//! the same objects always give the same bytes.

use crate::Object;
use crate::error::RenderError;

/// One object as a YAML document (no `---` line), ending with a newline.
///
/// # Errors
///
/// [`RenderError::Yaml`] if the serializer fails (it does not for objects from
/// [`render`](crate::render)).
pub fn to_yaml(object: &Object) -> Result<String, RenderError> {
    // Long single-line strings (image references) stay on one line instead of being folded
    // with `>-`; multi-line strings still use literal `|` blocks.
    let options = serde_saphyr::ser_options! { folded_wrap_chars: usize::MAX };
    let mut text = serde_saphyr::to_string_with_options(object, options).map_err(|source| {
        RenderError::Yaml {
            kind: object.kind(),
            name: object.name().to_owned(),
            source,
        }
    })?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// Every object as one multi-document stream, documents separated by `---` lines.
///
/// # Errors
///
/// As [`to_yaml`].
pub fn to_yaml_stream(objects: &[Object]) -> Result<String, RenderError> {
    let docs = objects.iter().map(to_yaml).collect::<Result<Vec<_>, _>>()?;
    Ok(docs.join("---\n"))
}
