//! Pulling: manifests (an index resolved to the wanted platforms), configs and layers into the
//! blob store, every byte checked against its digest; blobs and manifests named by digest that
//! are already in the store are not downloaded again, so pulling a tag seen before costs one
//! manifest request. A lone manifest must be for every wanted platform (its config says).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use hoist_core::{Digest, Platform};
use hoist_image::{BlobStore, Descriptor};
use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderName};
use sha2::{Digest as _, Sha256};

use crate::auth::Scope;
use crate::blobs::{MountHints, unique};
use crate::client::{Client, Request};
use crate::error::{RegistryError, Result};
use crate::manifest::{self, IndexDoc, Kind, ManifestDoc};
use crate::observe::{BlobOutcome, Observer};
use crate::parallel;
use crate::reference::{Reference, Repository};
use crate::session::{Session, unexpected};

/// One platform's image, pulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledImage {
    /// The platform, from the index (or `None` for a lone manifest).
    pub platform: Option<Platform>,
    /// The manifest's descriptor.
    pub manifest: Descriptor,
    /// The config's descriptor.
    pub config: Descriptor,
    /// The layers, bottom first.
    pub layers: Vec<Descriptor>,
}

/// What a pull fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The document the reference names (index or manifest).
    pub root: Descriptor,
    /// The images pulled.
    pub images: Vec<PulledImage>,
}

/// A fetched manifest or index, verified.
pub(crate) struct Document {
    pub descriptor: Descriptor,
    pub bytes: Vec<u8>,
    pub kind: Kind,
}

impl Client {
    /// Fetches the manifest or index `reference` names, checked against the digest asked for
    /// (or the one the registry announced).
    ///
    /// # Errors
    /// [`RegistryError::NotFound`], [`RegistryError::DigestMismatch`],
    /// [`RegistryError::UnsupportedMediaType`], and transport or auth errors.
    pub(crate) fn fetch_document(
        &self,
        session: &Session,
        repo: &Repository,
        selector: &str,
    ) -> Result<Document> {
        let shown = format!(
            "{repo}{}{selector}",
            if selector.contains(':') { "@" } else { ":" }
        );
        let what = format!("GET manifest `{shown}`");
        let req = Request::new(
            Method::GET,
            session.url(&format!("{}/manifests/{selector}", repo.name)),
            what.clone(),
        )
        .scopes(vec![Scope::pull(&repo.name)])
        .header(ACCEPT, manifest::ACCEPT);
        let resp = self.send(session, &req, true)?;
        match resp.status().as_u16() {
            200 => {}
            404 => return Err(RegistryError::NotFound { reference: shown }),
            _ => return Err(unexpected(session, &what, resp)),
        }
        let header = |n: &'static str| {
            resp.headers()
                .get(HeaderName::from_static(n))
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let media_type = header("content-type")
            .map(|m| m.split(';').next().unwrap_or_default().trim().to_owned())
            .unwrap_or_default();
        let announced = header("docker-content-digest").and_then(|d| d.parse::<Digest>().ok());
        let bytes = resp
            .bytes()
            .map_err(|e| session.transport_error(e))?
            .to_vec();
        let actual = Digest::of(&bytes);
        let expected = selector.parse::<Digest>().ok().or(announced);
        if let Some(expected) = expected
            && expected != actual
        {
            return Err(RegistryError::DigestMismatch {
                registry: session.registry.clone(),
                what: "manifest",
                expected,
                actual,
            });
        }
        let kind = manifest::kind(&media_type, &bytes, &shown)?;
        let media_type = if media_type.is_empty() || media_type == "application/json" {
            match kind {
                Kind::Manifest => hoist_image::MEDIA_TYPE_MANIFEST.to_owned(),
                Kind::Index => hoist_image::MEDIA_TYPE_INDEX.to_owned(),
            }
        } else {
            media_type
        };
        Ok(Document {
            descriptor: Descriptor::new(&media_type, actual, bytes.len() as u64),
            bytes,
            kind,
        })
    }

    /// Pulls `reference` into `store`: for an index, the images of `platforms` (all when
    /// empty); for a lone manifest, its image, which must be for each of `platforms`; records
    /// in `hints` where the blobs came from (for later mounts).
    ///
    /// # Errors
    /// [`RegistryError::PlatformNotFound`] when a wanted platform is missing (from the index,
    /// or not the lone manifest's), digest mismatches, store errors, and transport or auth
    /// errors.
    pub fn pull(
        &self,
        reference: &Reference,
        platforms: &[Platform],
        store: &BlobStore,
        hints: Option<&MountHints>,
        observer: &Arc<dyn Observer>,
    ) -> Result<Pulled> {
        let repo = &reference.repository;
        let session = self.session(&repo.registry, repo.api_host())?;
        let root = self.fetch_document(&session, repo, &reference.selector())?;
        put(store, &root.bytes)?;
        let children: Vec<(Option<Platform>, Document)> = match root.kind {
            Kind::Manifest => vec![(None, root_clone(&root))],
            Kind::Index => {
                let index: IndexDoc =
                    manifest::parse(&root.bytes, &format!("the index of `{reference}`"))?;
                let chosen = choose(&index.manifests, platforms, reference)?;
                chosen
                    .into_iter()
                    .map(|d| {
                        let doc = match stored_document(store, d) {
                            Some(doc) => doc,
                            None => self.fetch_document(&session, repo, &d.digest.to_string())?,
                        };
                        check_descriptor(&session, d, &doc)?;
                        put(store, &doc.bytes)?;
                        Ok((d.platform.clone(), doc))
                    })
                    .collect::<Result<_>>()?
            }
        };
        let mut images = Vec::new();
        for (platform, doc) in children {
            let m: ManifestDoc =
                manifest::parse(&doc.bytes, &format!("a manifest of `{reference}`"))?;
            let mut descriptor = doc.descriptor.clone();
            descriptor.platform.clone_from(&platform);
            images.push(PulledImage {
                platform,
                manifest: descriptor,
                config: m.config,
                layers: m.layers,
            });
        }
        let blobs = unique(
            images
                .iter()
                .flat_map(|i| std::iter::once(&i.config).chain(&i.layers)),
        );
        // A lone manifest's platform is in its config: fetched and checked before any layer.
        let mut first = None;
        if let ([image], Kind::Manifest, false) =
            (images.as_slice(), root.kind, platforms.is_empty())
        {
            self.download(&session, repo, &image.config, store, observer)?;
            check_platform(store, &image.config.digest, platforms, reference)?;
            first = Some(&image.config.digest);
        }
        let rest: Vec<Descriptor> = blobs
            .iter()
            .filter(|d| Some(&d.digest) != first)
            .cloned()
            .collect();
        parallel::for_each(&rest, self.options.jobs, |d| {
            self.download(&session, repo, d, store, observer)
        })?;
        if let Some(h) = hints {
            h.record(repo, blobs.iter().map(|d| &d.digest));
        }
        Ok(Pulled {
            root: root.descriptor,
            images,
        })
    }

    /// Downloads one blob into the store unless it is there, checking its digest.
    fn download(
        &self,
        session: &Session,
        repo: &Repository,
        desc: &Descriptor,
        store: &BlobStore,
        observer: &Arc<dyn Observer>,
    ) -> Result<()> {
        let c = &self.counters;
        if std::fs::metadata(store.path(&desc.digest)).is_ok_and(|m| m.len() == desc.size) {
            c.cached.fetch_add(1, Ordering::Relaxed);
            observer.blob_finished(&desc.digest, desc.size, &BlobOutcome::Cached);
            return Ok(());
        }
        observer.blob_started(&desc.digest, desc.size);
        let what = format!("GET blob {}", desc.digest);
        self.options.retry.run(&what, &c.retries, || {
            let req = Request::new(
                Method::GET,
                session.url(&format!("{}/blobs/{}", repo.name, desc.digest)),
                what.clone(),
            )
            .scopes(vec![Scope::pull(&repo.name)]);
            let mut resp = self.send(session, &req, false)?;
            if resp.status().as_u16() != 200 {
                return Err(unexpected(session, &what, resp));
            }
            let tmp_dir = store.root().join("tmp");
            let io = |source| RegistryError::Io {
                path: tmp_dir.clone(),
                source,
            };
            let file = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(io)?;
            let mut w = Hashing {
                file,
                hasher: Sha256::new(),
                observer: observer.as_ref(),
                digest: &desc.digest,
            };
            resp.copy_to(&mut w)
                .map_err(|e| session.transport_error(e))?;
            let actual = Digest::from_sha256(w.hasher.finalize().into());
            if actual != desc.digest {
                return Err(RegistryError::DigestMismatch {
                    registry: session.registry.clone(),
                    what: "blob",
                    expected: desc.digest.clone(),
                    actual,
                });
            }
            let target = store.path(&desc.digest);
            w.file.persist(&target).map_err(|e| RegistryError::Io {
                path: target.clone(),
                source: e.error,
            })?;
            Ok(())
        })?;
        c.downloaded.fetch_add(1, Ordering::Relaxed);
        c.downloaded_bytes.fetch_add(desc.size, Ordering::Relaxed);
        observer.blob_finished(&desc.digest, desc.size, &BlobOutcome::Downloaded);
        Ok(())
    }
}

fn root_clone(d: &Document) -> Document {
    Document {
        descriptor: d.descriptor.clone(),
        bytes: d.bytes.clone(),
        kind: d.kind,
    }
}

fn put(store: &BlobStore, bytes: &[u8]) -> Result<()> {
    store
        .put_bytes(bytes)
        .map(drop)
        .map_err(|source| RegistryError::Store { source })
}

/// The index entries for `platforms` (all image entries when empty), in the index's order.
pub(crate) fn choose<'a>(
    manifests: &'a [Descriptor],
    platforms: &[Platform],
    reference: &Reference,
) -> Result<Vec<&'a Descriptor>> {
    // Attestation manifests (`unknown/unknown`) are not images.
    let images: Vec<&Descriptor> = manifests
        .iter()
        .filter(|d| d.platform.as_ref().is_none_or(|p| p.os != "unknown"))
        .collect();
    if platforms.is_empty() {
        return Ok(images);
    }
    platforms
        .iter()
        .map(|want| {
            images
                .iter()
                .copied()
                .find(|d| d.platform.as_ref().is_some_and(|p| p.matches(want)))
                .ok_or_else(|| RegistryError::PlatformNotFound {
                    reference: reference.to_string(),
                    platform: want.to_string(),
                    available: images
                        .iter()
                        .filter_map(|d| d.platform.as_ref().map(ToString::to_string))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        })
        .collect()
}

/// A manifest `desc` names that is already in the store, read back and checked: content named
/// by digest never changes, so it need not be asked for again.
fn stored_document(store: &BlobStore, desc: &Descriptor) -> Option<Document> {
    let bytes = store.read(&desc.digest).ok()?;
    if Digest::of(&bytes) != desc.digest {
        return None;
    }
    let kind = manifest::kind(&desc.media_type, &bytes, &desc.digest.to_string()).ok()?;
    Some(Document {
        descriptor: Descriptor::new(&desc.media_type, desc.digest.clone(), bytes.len() as u64),
        bytes,
        kind,
    })
}

/// The platform fields of an image config.
#[derive(serde::Deserialize)]
struct ConfigPlatform {
    architecture: String,
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

/// Checks that the config `digest` (in the store) is for every one of `platforms`.
fn check_platform(
    store: &BlobStore,
    digest: &Digest,
    platforms: &[Platform],
    reference: &Reference,
) -> Result<()> {
    let bytes = store
        .read(digest)
        .map_err(|source| RegistryError::Store { source })?;
    let c: ConfigPlatform = manifest::parse(&bytes, &format!("the image config of `{reference}`"))?;
    let has = Platform {
        os: c.os,
        arch: c.architecture,
        variant: c.variant,
    };
    match platforms.iter().find(|want| !has.matches(want)) {
        None => Ok(()),
        Some(want) => Err(RegistryError::PlatformNotFound {
            reference: reference.to_string(),
            platform: want.to_string(),
            available: has.to_string(),
        }),
    }
}

fn check_descriptor(session: &Session, want: &Descriptor, got: &Document) -> Result<()> {
    if want.digest == got.descriptor.digest {
        Ok(())
    } else {
        Err(RegistryError::DigestMismatch {
            registry: session.registry.clone(),
            what: "manifest",
            expected: want.digest.clone(),
            actual: got.descriptor.digest.clone(),
        })
    }
}

/// Writes to a file while hashing and reporting progress.
struct Hashing<'a> {
    file: tempfile::NamedTempFile,
    hasher: Sha256,
    observer: &'a dyn Observer,
    digest: &'a Digest,
}

impl Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.observer.blob_progress(self.digest, n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Client {
    /// A small blob (a config) in memory, checked against its digest.
    pub(crate) fn fetch_blob(
        &self,
        session: &Session,
        repo: &Repository,
        desc: &Descriptor,
    ) -> Result<Vec<u8>> {
        let what = format!("GET blob {}", desc.digest);
        let req = Request::new(
            Method::GET,
            session.url(&format!("{}/blobs/{}", repo.name, desc.digest)),
            what.clone(),
        )
        .scopes(vec![Scope::pull(&repo.name)]);
        let resp = self.send(session, &req, true)?;
        if resp.status().as_u16() != 200 {
            return Err(unexpected(session, &what, resp));
        }
        let bytes = resp
            .bytes()
            .map_err(|e| session.transport_error(e))?
            .to_vec();
        let actual = Digest::of(&bytes);
        if actual == desc.digest {
            Ok(bytes)
        } else {
            Err(RegistryError::DigestMismatch {
                registry: session.registry.clone(),
                what: "blob",
                expected: desc.digest.clone(),
                actual,
            })
        }
    }
}
