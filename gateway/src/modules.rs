//! Discovery and loading of provider modules (`.so` files) from the providers directory.
//!
//! Each file is opened with `lib_header_from_path(..).init_root_module(..)` rather than
//! `RootModule::load_from_file`, because the latter caches the first module it loads for the whole
//! process and would hand that one back for every other path. A file that is not a provider
//! module, or that was built against an incompatible SDK, is skipped with a one-line reason and
//! the others still load. Libraries are never unloaded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibraryError};
use provider_sdk::abi::{ProviderModuleRef, RouteType};

use crate::provider::{ModuleManifest, ProviderHandle};

/// A module that loaded.
pub struct LoadedModule {
    pub manifest: ModuleManifest,
    pub path: PathBuf,
    pub handle: ProviderHandle,
}

/// A file that did not load, and why.
#[derive(Debug, Clone)]
pub struct SkippedFile {
    pub path: PathBuf,
    pub reason: String,
}

/// Every module found in one providers directory, by provider name.
pub struct ModuleRegistry {
    pub dir: PathBuf,
    pub modules: Vec<LoadedModule>,
    pub skipped: Vec<SkippedFile>,
    by_name: HashMap<String, usize>,
}

impl ModuleRegistry {
    /// Loads every `.so` file in `dir` (not recursively), in file-name order so that which of two
    /// same-named modules wins does not depend on the file system's listing order.
    pub fn load_dir(dir: &Path) -> Result<ModuleRegistry, String> {
        // Absolute, so that every path the gateway reports can be acted on from anywhere.
        let dir = &std::path::absolute(dir)
            .map_err(|e| format!("cannot resolve providers directory {}: {e}", dir.display()))?;
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read providers directory {}: {e}", dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|ext| ext == std::env::consts::DLL_EXTENSION)
            })
            .collect();
        files.sort();

        let mut registry = ModuleRegistry {
            dir: dir.to_path_buf(),
            modules: Vec::new(),
            skipped: Vec::new(),
            by_name: HashMap::new(),
        };
        let mut seen_canonical: HashMap<PathBuf, PathBuf> = HashMap::new();
        for path in files {
            let canonical = match std::fs::canonicalize(&path) {
                Ok(c) => c,
                Err(e) => {
                    registry.skip(path, format!("cannot resolve path: {e}"));
                    continue;
                }
            };
            if seen_canonical.contains_key(&canonical) {
                continue;
            }
            seen_canonical.insert(canonical.clone(), path.clone());
            registry.load_file(path, &canonical);
        }
        Ok(registry)
    }

    fn skip(&mut self, path: PathBuf, reason: String) {
        self.skipped.push(SkippedFile { path, reason });
    }

    fn load_file(&mut self, path: PathBuf, canonical: &Path) {
        let root = match lib_header_from_path(canonical)
            .and_then(|header| header.init_root_module::<ProviderModuleRef>())
        {
            Ok(root) => root,
            Err(e) => {
                self.skip(path, one_line_reason(&e));
                return;
            }
        };
        let handle = ProviderHandle::new(root);
        let manifest = match handle.manifest() {
            Ok(m) => m,
            Err(e) => {
                self.skip(path, format!("manifest failed: {}", e.message));
                return;
            }
        };
        if let Some(&existing) = self.by_name.get(&manifest.name) {
            let reason = format!(
                "provider '{}' already loaded from {}",
                manifest.name,
                self.modules[existing].path.display()
            );
            self.skip(path, reason);
            return;
        }
        self.by_name
            .insert(manifest.name.clone(), self.modules.len());
        self.modules.push(LoadedModule {
            manifest,
            path,
            handle,
        });
    }

    pub fn get(&self, provider: &str) -> Option<&LoadedModule> {
        self.by_name.get(provider).map(|&i| &self.modules[i])
    }

    /// Whether the module for `provider` serves `route_type`.
    pub fn supports(&self, provider: &str, route_type: RouteType) -> bool {
        self.get(provider)
            .is_some_and(|m| m.manifest.route_types.contains(&route_type))
    }
}

/// abi_stable's errors span many lines (a layout diff can run to dozens); the loader reports each
/// skipped file on one line, keeping the variant and the expected/found parts.
fn one_line_reason(err: &LibraryError) -> String {
    let detail = match err {
        LibraryError::OpenError { err, .. } => return format!("cannot open library: {err}"),
        LibraryError::GetSymbolError { .. } => {
            return "not a provider module (no abi_stable root module exported)".to_string()
        }
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => {
            return format!(
                "incompatible SDK version: expected {expected_version}, found {actual_version}"
            )
        }
        LibraryError::ParseVersionError(e) => return format!("unreadable SDK version: {e}"),
        LibraryError::RootModule { err, .. } => {
            return format!("module failed to initialise: {err}")
        }
        LibraryError::AbiInstability(e) => (
            "incompatible layout (rebuild the module against this gateway's provider-sdk)",
            e.to_string(),
        ),
        LibraryError::InvalidAbiHeader(h) => {
            return format!("incompatible abi_stable header: {h:?}")
        }
        LibraryError::InvalidCAbi { expected, found } => {
            return format!("incompatible C ABI: expected {expected}, found {found}")
        }
        LibraryError::Many(errors) => (
            "several load errors",
            errors
                .iter()
                .map(one_line_reason)
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    let (variant, text) = detail;
    let summary = summarize_layout_error(&text);
    let mut line = format!("{variant}: {summary}");
    if line.len() > 400 {
        let mut cut = 400;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push('…');
    }
    line
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Picks the `Error:` lines of an abi_stable layout report, each with the `Expected:` and
/// `Found:` values that follow it (on the lines below their label, indented deeper), e.g.
/// `mismatched package; expected provider-sdk; found my-module`.
fn summarize_layout_error(text: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("Error:") {
            parts.push(rest.trim().to_string());
            continue;
        }
        for (label, name) in [("Expected:", "expected"), ("Found:", "found")] {
            let Some(rest) = trimmed.strip_prefix(label) else {
                continue;
            };
            let mut value = rest.trim().to_string();
            let label_indent = indent_of(line);
            while let Some(next) = lines.peek() {
                if next.trim().is_empty() || indent_of(next) <= label_indent {
                    break;
                }
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(next.trim());
                lines.next();
            }
            parts.push(format!("{name} {value}"));
        }
    }
    if parts.is_empty() {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_reports_shrink_to_the_error_and_its_expected_and_found_values() {
        let report = [
            "Compared <this>:",
            "    --- Type Layout ---",
            "    size:8 align:8",
            "0 error(s).",
            "1 error(s)inside:",
            "    Error:mismatched package",
            "    Expected:",
            "        provider-sdk",
            "    Found:",
            "        my-module",
        ]
        .join("\n");
        let report = report.as_str();
        assert_eq!(
            summarize_layout_error(report),
            "mismatched package; expected provider-sdk; found my-module"
        );
    }
}
