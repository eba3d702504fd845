//! [`AtomicFile`]: a file that appears whole or not at all.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file written to a temporary file beside its path (same directory, so the rename does
/// not cross file systems), then flushed, synced and renamed over the path by
/// [`commit`](AtomicFile::commit). Until then a file already at the path is untouched; a
/// writer dropped or failed before the commit removes its temporary file.
#[derive(Debug)]
pub(crate) struct AtomicFile {
    path: PathBuf,
    temporary: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// A temporary file for `path`, created empty, and its writer.
    ///
    /// # Errors
    /// The I/O error of creating the temporary file.
    pub(crate) fn create(path: &Path) -> std::io::Result<(Self, File)> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let file = File::create(&temporary)?;
        Ok((
            Self {
                path: path.to_path_buf(),
                temporary,
                committed: false,
            },
            file,
        ))
    }

    /// Flushes and syncs `file` (the writer [`create`](AtomicFile::create) gave), then
    /// renames the temporary file over the path, and syncs the directory so that the rename
    /// survives a crash.
    ///
    /// # Errors
    /// The I/O error of any step; the temporary file is then removed and the path untouched.
    pub(crate) fn commit(mut self, mut file: File) -> std::io::Result<()> {
        file.flush()?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.temporary, &self.path)?;
        self.committed = true;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(dir) = File::open(dir)
        {
            // Not every platform can sync a directory; the rename itself is done.
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

/// Writes `bytes` to `path` atomically ([`AtomicFile`]).
///
/// # Errors
/// The I/O error of any step; a file already at `path` is then untouched.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let (atomic, mut file) = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    atomic.commit(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_writer_leaves_the_old_file_and_no_temporary() {
        let dir = std::env::temp_dir().join(format!("inferrs-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        write_atomic(&path, b"old").unwrap();
        {
            let (_atomic, mut file) = AtomicFile::create(&path).unwrap();
            file.write_all(b"half of the new").unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "the temporary file was left behind");
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
