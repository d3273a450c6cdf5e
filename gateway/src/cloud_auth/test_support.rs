//! Files the tests of this module read, each in its own temporary place and removed afterwards.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A file or directory under the system's temporary directory, removed on drop.
pub struct TempPath {
    path: PathBuf,
    is_dir: bool,
}

impl TempPath {
    fn unique(name: &str) -> PathBuf {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("ai-gateway-test-{}-{n}-{name}", std::process::id()))
    }

    pub fn file(name: &str, contents: &str) -> TempPath {
        let path = Self::unique(name);
        std::fs::write(&path, contents).unwrap();
        TempPath {
            path,
            is_dir: false,
        }
    }

    pub fn dir(name: &str) -> TempPath {
        let path = Self::unique(name);
        std::fs::create_dir(&path).unwrap();
        TempPath { path, is_dir: true }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn path_str(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = if self.is_dir {
            std::fs::remove_dir_all(&self.path)
        } else {
            std::fs::remove_file(&self.path)
        };
    }
}
