//! A folder of guests or models: its optional manifest, the files in it,
//! and reading a file only if it resolves inside the folder.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use super::names::validate_name;

/// An entry found in a folder: a name, its file, and its manifest settings.
#[derive(Debug, Clone)]
pub struct Found<Spec> {
    /// Deployed name.
    pub name: String,
    /// Its file (not yet checked to resolve inside the folder).
    pub path: PathBuf,
    /// Its settings (defaults without a manifest entry).
    pub spec: Spec,
}

/// Reads a folder's manifest `file_name` with `parse`; a missing manifest
/// means defaults.
///
/// # Errors
/// The manifest exists but cannot be read, or `parse` refuses it.
pub fn read_manifest<M: Default>(
    dir: &Path,
    file_name: &str,
    parse: impl FnOnce(&str) -> Result<M>,
) -> Result<M> {
    let path = dir.join(file_name);
    match fs::read_to_string(&path) {
        Ok(text) => parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(M::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Lists a folder's entries: every manifest entry (file `NAME.EXT` unless
/// it names one), then every `*.EXT` file no entry claims, with default
/// settings. Files whose stem is not a valid name are skipped with a warning.
///
/// # Errors
/// The folder cannot be listed.
pub fn discover<Spec: Clone + Default>(
    dir: &Path,
    extension: &str,
    declared: &BTreeMap<String, Spec>,
    file_of: impl Fn(&Spec) -> Option<&str>,
) -> Result<Vec<Found<Spec>>> {
    let mut found: BTreeMap<String, Found<Spec>> = BTreeMap::new();
    let claimed: Vec<&str> = declared.values().filter_map(&file_of).collect();
    for (name, spec) in declared {
        let file = file_of(spec).map_or_else(|| format!("{name}.{extension}"), str::to_owned);
        found.insert(
            name.clone(),
            Found {
                name: name.clone(),
                path: dir.join(file),
                spec: spec.clone(),
            },
        );
    }
    let entries = fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading folder {}", dir.display()))?;
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some(extension) {
            continue;
        }
        let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if claimed.contains(&file_name.as_str()) || found.contains_key(&name) {
            continue;
        }
        if let Err(error) = validate_name(&name) {
            tracing::warn!(file = %path.display(), "skipping file: {error}");
            continue;
        }
        found.insert(
            name.clone(),
            Found {
                name,
                path,
                spec: Spec::default(),
            },
        );
    }
    Ok(found.into_values().collect())
}

/// Resolves `path` (through any symlinks) and checks that it lies inside `dir`.
///
/// # Errors
/// The file is missing, or resolves outside `dir`.
pub fn resolve_inside(dir: &Path, path: &Path) -> Result<PathBuf> {
    // A regular file named directly in `dir` (not a symlink) is inside it:
    // one `lstat` instead of resolving every component of both paths,
    // which init did twice per guest.
    if path.parent() == Some(dir)
        && path
            .symlink_metadata()
            .is_ok_and(|metadata| metadata.file_type().is_file())
    {
        return Ok(path.to_path_buf());
    }
    let root = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let real = path
        .canonicalize()
        .with_context(|| format!("file {} not found", path.display()))?;
    if !real.starts_with(&root) {
        bail!(
            "{} resolves to {}, outside the folder {}",
            path.display(),
            real.display(),
            root.display()
        );
    }
    Ok(real)
}

/// Reads a file that must resolve to a place inside `dir`.
///
/// # Errors
/// The file is missing, unreadable, or resolves outside `dir`.
pub fn read_inside(dir: &Path, path: &Path) -> Result<Vec<u8>> {
    let real = resolve_inside(dir, path)?;
    fs::read(&real).with_context(|| format!("reading {}", real.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_entries_then_unclaimed_files() {
        let dir = tempfile::tempdir().unwrap();
        for file in ["a.wasm", "b-v2.wasm", "bad name.wasm", "notes.txt"] {
            fs::write(dir.path().join(file), b"").unwrap();
        }
        let mut declared = BTreeMap::new();
        declared.insert("b".to_owned(), Some("b-v2.wasm".to_owned()));
        let found = discover(dir.path(), "wasm", &declared, |s: &Option<String>| {
            s.as_deref()
        })
        .unwrap();
        let names: Vec<(&str, String)> = found
            .iter()
            .map(|f| {
                let file = f.path.file_name().unwrap().to_string_lossy().into_owned();
                (f.name.as_str(), file)
            })
            .collect();
        assert_eq!(
            names,
            [("a", "a.wasm".to_owned()), ("b", "b-v2.wasm".to_owned())]
        );
    }

    #[test]
    fn symlinks_out_of_the_folder_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
        let error = read_inside(dir.path(), &dir.path().join("link")).unwrap_err();
        assert!(
            format!("{error:#}").contains("outside the folder"),
            "{error:#}"
        );
        fs::write(dir.path().join("inside"), b"ok").unwrap();
        assert_eq!(
            read_inside(dir.path(), &dir.path().join("inside")).unwrap(),
            b"ok"
        );
        // A name that climbs out is resolved, not taken as a plain name.
        let climbing = dir.path().join("..").join(
            outside
                .path()
                .strip_prefix(dir.path().parent().unwrap())
                .unwrap(),
        );
        let error = read_inside(dir.path(), &climbing.join("secret")).unwrap_err();
        assert!(
            format!("{error:#}").contains("outside the folder"),
            "{error:#}"
        );
        // A symlink to a file inside the folder is followed.
        std::os::unix::fs::symlink(dir.path().join("inside"), dir.path().join("alias")).unwrap();
        assert_eq!(
            read_inside(dir.path(), &dir.path().join("alias")).unwrap(),
            b"ok"
        );
    }
}
