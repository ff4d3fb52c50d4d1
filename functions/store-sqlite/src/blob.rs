//! Attachments on local disk: `<root>/<tenant>/<path>`, written via a temporary file and an
//! atomic rename so a crash mid-write never leaves a torn attachment.

use async_trait::async_trait;
use fieldline_store::error::{StoreError, StoreResult};
use fieldline_store::ports::{BlobKey, BlobMeta, BlobStore};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn locate(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.tenant.as_str()).join(key.path())
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::backend(path.display().to_string(), e)
}

fn content_type_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".content-type");
    PathBuf::from(p)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> StoreResult<()> {
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::backend_msg("blob path has no parent"))?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    tmp.write_all(bytes).map_err(io(path))?;
    tmp.as_file().sync_all().map_err(io(path))?;
    tmp.persist(path).map_err(|e| io(path)(e.error))?;
    Ok(())
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(
        &self,
        key: &BlobKey,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> StoreResult<BlobMeta> {
        let path = self.locate(key);
        let content_type = content_type.to_owned();
        tokio::task::spawn_blocking(move || {
            write_atomically(&content_type_path(&path), content_type.as_bytes())?;
            write_atomically(&path, &bytes)?;
            Ok(BlobMeta::of(&bytes, &content_type))
        })
        .await
        .map_err(|e| StoreError::backend("blob task", e))?
    }

    async fn get(&self, key: &BlobKey) -> StoreResult<Option<(Vec<u8>, BlobMeta)>> {
        let path = self.locate(key);
        tokio::task::spawn_blocking(move || {
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io(&path)(e)),
            };
            let content_type = std::fs::read_to_string(content_type_path(&path))
                .unwrap_or_else(|_| "application/octet-stream".into());
            let meta = BlobMeta::of(&bytes, &content_type);
            Ok(Some((bytes, meta)))
        })
        .await
        .map_err(|e| StoreError::backend("blob task", e))?
    }

    async fn delete(&self, key: &BlobKey) -> StoreResult<bool> {
        let path = self.locate(key);
        tokio::task::spawn_blocking(move || {
            let _ = std::fs::remove_file(content_type_path(&path));
            match std::fs::remove_file(&path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(io(&path)(e)),
            }
        })
        .await
        .map_err(|e| StoreError::backend("blob task", e))?
    }
}
