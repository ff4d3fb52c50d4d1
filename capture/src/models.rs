//! Where the models live. They are installed by `scripts/setup-models.sh`; a missing file is
//! reported with its path and that command, never silently skipped.

use std::path::{Path, PathBuf};

pub const INSTALL_HINT: &str = "bash scripts/setup-models.sh";

#[derive(Debug, Clone)]
pub struct ModelDir {
    root: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "model file {path} is missing; install the models with `{INSTALL_HINT}` (or set FIELDLINE_MODELS_DIR)"
)]
pub struct MissingModel {
    pub path: PathBuf,
}

impl ModelDir {
    /// `FIELDLINE_MODELS_DIR`, else `$XDG_CACHE_HOME/fieldline/models`, else `~/.cache/fieldline/models`
    /// — the same default as the setup script.
    pub fn locate(explicit: Option<&Path>) -> ModelDir {
        if let Some(p) = explicit {
            return ModelDir {
                root: p.to_path_buf(),
            };
        }
        if let Some(p) = std::env::var_os("FIELDLINE_MODELS_DIR") {
            return ModelDir {
                root: PathBuf::from(p),
            };
        }
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(|| PathBuf::from("."));
        ModelDir {
            root: cache.join("fieldline").join("models"),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of a model file, which must exist.
    pub fn require(&self, relative: &str) -> Result<PathBuf, MissingModel> {
        let path = self.root.join(relative);
        if path.is_file() {
            Ok(path)
        } else {
            Err(MissingModel { path })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_model_names_the_file_and_the_install_command() {
        let dir = tempfile::tempdir().unwrap();
        let models = ModelDir::locate(Some(dir.path()));
        let err = models.require("ppocr/det.onnx").unwrap_err().to_string();
        assert!(
            err.contains("ppocr/det.onnx") && err.contains(INSTALL_HINT),
            "{err}"
        );
    }
}
