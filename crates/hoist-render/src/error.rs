//! The one error type of this crate.

/// Why manifests or a Dockerfile could not be rendered.
///
/// The app spec itself was validated by `hoist-config`; what can still be wrong here is the
/// input from outside the file: the image reference and the version label.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The image is not `NAME@sha256:<64 hex>`: manifests pin images by digest.
    #[error(
        "image `{reference}` is not pinned by digest; expected `NAME@sha256:<64 hex digits>` (a tag may come before `@`)"
    )]
    ImageNotPinned {
        /// The reference as given.
        reference: String,
    },
    /// The image name is not a valid lowercase repository.
    #[error("image `{reference}` has an invalid name `{name}`: {problem}")]
    InvalidImageName {
        /// The reference as given.
        reference: String,
        /// The part before the tag and digest.
        name: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A label value Kubernetes would reject (at most 63 of `A-Za-z0-9-_.`, alphanumeric at
    /// both ends).
    #[error("label `{key}`: `{value}` is not a valid Kubernetes label value: {problem}")]
    InvalidLabelValue {
        /// The label key, e.g. `app.kubernetes.io/version`.
        key: &'static str,
        /// The value that was refused.
        value: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// An object could not be written as YAML.
    #[error("cannot write {kind} `{name}` as YAML")]
    Yaml {
        /// The object's kind.
        kind: &'static str,
        /// The object's name.
        name: String,
        /// The serializer's error.
        #[source]
        source: serde_saphyr::SerializeError,
    },
}
