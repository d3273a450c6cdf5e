//! Where cargo put the gateway and the provider modules, where the shared fixtures are, and
//! providers directories that hold exactly the modules a test wants.

use std::path::{Path, PathBuf};

use crate::tempdir::TempDir;

/// `target/<profile>`, found from the running test binary (`target/<profile>/deps/<test>-<hash>`),
/// so that the tests use the gateway and modules of the profile they were built with.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the running test binary");
    let deps = exe.parent().expect("test binary has a parent directory");
    match deps.file_name() {
        Some(name) if name == "deps" => deps.parent().expect("deps has a parent").to_path_buf(),
        _ => deps.to_path_buf(),
    }
}

/// The `ai-gateway` binary of this profile.
pub fn gateway_bin() -> PathBuf {
    let bin = profile_dir().join("ai-gateway");
    assert!(
        bin.is_file(),
        "the gateway binary {} does not exist: run `cargo build -p ai-gateway` (with the same \
         profile as the tests), or run the whole suite with `cargo test --workspace`",
        bin.display()
    );
    bin
}

/// The repository root (this crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is inside the repository")
        .to_path_buf()
}

/// The Kong ai-proxy fixtures, from the `shared/` checkout beside the repository.
pub fn kong_fixtures() -> PathBuf {
    repo_root().join("../shared/fixtures/kong-ai-proxy")
}

/// Reads a Kong fixture, e.g. `openai/llm-v1-chat/responses/good.json`.
pub fn fixture(relative: &str) -> Vec<u8> {
    let path = kong_fixtures().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read fixture {}: {e} (the shared/ directory must be checked out beside the \
             repository)",
            path.display()
        )
    })
}

/// Reads a Kong fixture as JSON.
pub fn fixture_json(relative: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture(relative))
        .unwrap_or_else(|e| panic!("fixture {relative} is not JSON: {e}"))
}

/// A provider module library that this crate's dev-dependencies make cargo build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    OpenAi,
    Azure,
    Cohere,
    Bedrock,
    Gemini,
    Anthropic,
    HuggingFace,
    Llama2,
    Mistral,
    Panicking,
    NotAModule,
    IncompatibleLayout,
    IncompatibleVersion,
    Signing,
}

impl Module {
    pub fn file_name(self) -> &'static str {
        match self {
            Module::OpenAi => "libai_provider_openai.so",
            Module::Azure => "libai_provider_azure.so",
            Module::Cohere => "libai_provider_cohere.so",
            Module::Bedrock => "libai_provider_bedrock.so",
            Module::Gemini => "libai_provider_gemini.so",
            Module::Anthropic => "libai_provider_anthropic.so",
            Module::HuggingFace => "libai_provider_huggingface.so",
            Module::Llama2 => "libai_provider_llama2.so",
            Module::Mistral => "libai_provider_mistral.so",
            Module::Panicking => "libtest_module_panicking.so",
            Module::NotAModule => "libtest_module_not_a_module.so",
            Module::IncompatibleLayout => "libtest_module_incompatible_layout.so",
            Module::IncompatibleVersion => "libtest_module_incompatible_version.so",
            Module::Signing => "libtest_module_signing.so",
        }
    }

    /// The library as cargo built it: cdylibs land in `deps/` without a hash, and are copied up
    /// to the profile directory only when their package is built on its own.
    pub fn built_path(self) -> PathBuf {
        let profile = profile_dir();
        let candidates = [
            profile.join("deps").join(self.file_name()),
            profile.join(self.file_name()),
        ];
        candidates
            .iter()
            .find(|p| p.is_file())
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "{} was not built (looked in {} and {}): it is a dev-dependency of \
                     ai-gateway-tests, so `cargo test -p ai-gateway-tests` builds it",
                    self.file_name(),
                    candidates[0].display(),
                    candidates[1].display()
                )
            })
    }
}

/// A providers directory of symlinks to the chosen modules. Never the cargo `deps` directory
/// itself: it also holds proc-macro libraries, which are not modules.
pub struct ProvidersDir {
    dir: TempDir,
}

impl ProvidersDir {
    pub fn new(modules: &[Module]) -> ProvidersDir {
        let providers = ProvidersDir {
            dir: TempDir::new("providers"),
        };
        for module in modules {
            providers.link(module.file_name(), &module.built_path());
        }
        providers
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Adds a symlink called `name` to `target`; returns the link's path.
    pub fn link(&self, name: &str, target: &Path) -> PathBuf {
        let link = self.path().join(name);
        std::os::unix::fs::symlink(target, &link).unwrap_or_else(|e| {
            panic!(
                "cannot link {} -> {}: {e}",
                link.display(),
                target.display()
            )
        });
        link
    }

    /// Adds a copy of `module` called `name`: a different file holding the same provider.
    pub fn copy(&self, module: Module, name: &str) -> PathBuf {
        let copy = self.path().join(name);
        std::fs::copy(module.built_path(), &copy).unwrap_or_else(|e| {
            panic!(
                "cannot copy {} to {}: {e}",
                module.file_name(),
                copy.display()
            )
        });
        copy
    }

    /// Adds a file that is not a library at all.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        self.dir.write(name, contents)
    }
}
