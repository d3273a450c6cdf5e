//! Runs the pytest suite in `tests/python`, where the official `openai` SDK calls the gateway with
//! strict response validation. Creates the virtualenv `tests/.venv` when it is missing, so that
//! `cargo test --workspace` alone runs everything on a machine that can reach PyPI.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use ai_gateway_tests::paths::{gateway_bin, repo_root, Module, ProvidersDir};

fn run(command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(status.success(), "{command:?} failed with {status}");
}

/// The virtualenv's python, with the pinned requirements installed.
fn python(tests_dir: &Path) -> PathBuf {
    let venv = tests_dir.join(".venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
    }
    // Quick when everything is already at the pinned versions; updates a venv after a pin changes.
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(tests_dir.join("python/requirements.txt")));
    python
}

#[test]
fn the_official_openai_python_sdk_works_through_the_gateway() {
    let python = python(Path::new(env!("CARGO_MANIFEST_DIR")));
    let providers = ProvidersDir::new(&[Module::OpenAi, Module::Azure, Module::Bedrock]);

    // pytest writes to this process's stdout and stderr directly, so its report is in the log
    // whether it passes or not.
    let status = Command::new(&python)
        .args([
            "-m",
            "pytest",
            "tests/python",
            "-q",
            "-p",
            "no:cacheprovider",
        ])
        .current_dir(repo_root())
        .env("AI_GATEWAY_BIN", gateway_bin())
        .env("AI_GATEWAY_PROVIDERS", providers.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .status()
        .unwrap_or_else(|e| panic!("cannot run pytest with {}: {e}", python.display()));

    assert!(
        status.success(),
        "pytest failed ({status}); its report is above"
    );
}
