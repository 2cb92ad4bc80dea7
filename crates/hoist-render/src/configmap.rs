//! The ConfigMap holding `[config]`; the container reads it with `envFrom`.

use hoist_core::App;
use k8s_openapi::Resource as _;
use k8s_openapi::api::core::v1::ConfigMap;
use serde::ser::{SerializeStruct as _, Serializer};

use crate::labels::Labels;
use crate::metadata;

pub(crate) fn config_map(app: &App, labels: &Labels) -> Option<ConfigMap> {
    (!app.config.is_empty()).then(|| ConfigMap {
        metadata: metadata(&app.app.name, labels),
        data: Some(app.config.clone()),
        ..ConfigMap::default()
    })
}

/// A ConfigMap in the customary order `apiVersion`, `kind`, `metadata`, `data`
/// (`k8s-openapi` writes its fields alphabetically, `data` before `metadata`).
pub(crate) fn serialize<S: Serializer>(c: &ConfigMap, s: S) -> Result<S::Ok, S::Error> {
    let mut st = s.serialize_struct(ConfigMap::KIND, 4)?;
    st.serialize_field("apiVersion", ConfigMap::API_VERSION)?;
    st.serialize_field("kind", ConfigMap::KIND)?;
    st.serialize_field("metadata", &c.metadata)?;
    if let Some(data) = &c.data {
        st.serialize_field("data", data)?;
    }
    if let Some(binary) = &c.binary_data {
        st.serialize_field("binaryData", binary)?;
    }
    if let Some(immutable) = &c.immutable {
        st.serialize_field("immutable", immutable)?;
    }
    st.end()
}
