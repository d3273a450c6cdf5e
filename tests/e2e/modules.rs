//! Loading provider modules from a directory: what `providers`, `check` and `serve` accept, skip
//! and refuse.

use std::path::{Path, PathBuf};

use ai_gateway_tests::{
    config::{deck, service, single_route, to_yaml},
    gateway::{command, gateway_beside, run, Outcome, Serve},
    paths::{repo_root, Module, ProvidersDir},
    tempdir::TempDir,
};
use serde_json::json;

use crate::openai;

fn providers(dir: &ProvidersDir) -> Outcome {
    run(command()
        .arg("providers")
        .arg("--providers")
        .arg(dir.path()))
}

fn check(config: &Path, dir: &ProvidersDir) -> std::process::Command {
    let mut command = command();
    command
        .arg("check")
        .arg("--config")
        .arg(config)
        .arg("--providers")
        .arg(dir.path());
    command
}

/// The stdout lines of `providers` that describe a loaded module called `name`.
fn module_lines<'a>(outcome: &'a Outcome, name: &str) -> Vec<&'a str> {
    outcome
        .stdout_lines()
        .into_iter()
        .filter(|line| line.starts_with(&format!("{name} sdk=")))
        .collect()
}

/// The `sdk=` of a `providers` line, checked to be a `major.minor.patch` version.
fn sdk_version(line: &str) -> &str {
    let sdk = line
        .split(' ')
        .find_map(|word| word.strip_prefix("sdk="))
        .unwrap_or_else(|| panic!("no sdk= in {line:?}"));
    let parts: Vec<&str> = sdk.split('.').collect();
    assert!(
        parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok()),
        "sdk= should be a version: {line:?}"
    );
    sdk
}

/// The `file=` of a `providers` line, resolved, so that a symlink and its target compare equal.
fn file_of(line: &str) -> PathBuf {
    let file = line
        .split(" file=")
        .nth(1)
        .unwrap_or_else(|| panic!("no file= in {line:?}"));
    assert!(
        Path::new(file).is_absolute(),
        "file= must be absolute: {line:?}"
    );
    std::fs::canonicalize(file).unwrap_or_else(|e| panic!("file= {file} does not resolve: {e}"))
}

/// The one `warning: skipped <path>: <reason>` line about the file called `name`; returns the
/// reason.
fn skip_reason(outcome: &Outcome, name: &str) -> String {
    let lines: Vec<&str> = outcome
        .stderr_lines()
        .into_iter()
        .filter(|line| line.contains(name))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one line about {name} on stderr, got:\n{}",
        outcome.stderr
    );
    let rest = lines[0]
        .strip_prefix("warning: skipped /")
        .unwrap_or_else(|| panic!("not a skip warning with an absolute path: {:?}", lines[0]));
    let (path, reason) = rest
        .split_once(": ")
        .unwrap_or_else(|| panic!("no reason after the path: {:?}", lines[0]));
    assert!(
        path.ends_with(name),
        "the warning should name {name}: {:?}",
        lines[0]
    );
    assert!(!reason.trim().is_empty(), "empty reason: {:?}", lines[0]);
    assert!(
        !outcome.stdout.contains(name),
        "a skipped file must not be listed as loaded:\n{}",
        outcome.stdout
    );
    reason.to_string()
}

#[test]
fn providers_lists_each_module_with_its_manifest_and_file() {
    let dir = ProvidersDir::new(&[Module::OpenAi, Module::Panicking]);

    let outcome = providers(&dir);

    assert!(outcome.status.success(), "{outcome:?}");
    let openai = module_lines(&outcome, "openai");
    assert_eq!(openai.len(), 1, "{}", outcome.stdout);
    let sdk = sdk_version(openai[0]);
    let file = openai[0].split(" file=").nth(1).unwrap_or_default();
    assert_eq!(
        openai[0],
        format!(
            "openai sdk={sdk} routes=llm/v1/chat,llm/v1/completions,llm/v1/embeddings,preserve \
             auth=\"header Authorization: Bearer <key>\" file={file}"
        )
    );
    assert_eq!(
        file_of(openai[0]),
        std::fs::canonicalize(Module::OpenAi.built_path()).unwrap()
    );
    let panicking = module_lines(&outcome, "panicking");
    assert_eq!(panicking.len(), 1, "{}", outcome.stdout);
    assert!(
        panicking[0].starts_with(&format!("panicking sdk={sdk} routes=llm/v1/chat auth=")),
        "both modules are built against this workspace's SDK: {}",
        panicking[0]
    );
    assert_eq!(outcome.stdout_lines().len(), 2, "{}", outcome.stdout);
}

#[test]
fn files_that_are_not_compatible_modules_are_skipped_one_line_each() {
    let dir = ProvidersDir::new(&[
        Module::OpenAi,
        Module::NotAModule,
        Module::IncompatibleLayout,
        Module::IncompatibleVersion,
    ]);
    dir.write("README.txt", "not a library, and not named .so");

    let outcome = providers(&dir);

    assert!(outcome.status.success(), "{outcome:?}");
    assert_eq!(
        module_lines(&outcome, "openai").len(),
        1,
        "{}",
        outcome.stdout
    );
    assert_eq!(outcome.stdout_lines().len(), 1, "{}", outcome.stdout);
    skip_reason(&outcome, Module::NotAModule.file_name());
    let layout = skip_reason(&outcome, Module::IncompatibleLayout.file_name());
    assert!(
        layout.contains("provider-sdk") && layout.contains("test-module-incompatible-layout"),
        "the reason should give the expected and found layouts that differ: {layout}"
    );
    let version = skip_reason(&outcome, Module::IncompatibleVersion.file_name());
    assert!(
        version.contains("99.0.0"),
        "the reason should give the version the module was built for: {version}"
    );
    assert!(
        !outcome.stderr.contains("README.txt"),
        "only .so files are considered:\n{}",
        outcome.stderr
    );
}

#[test]
fn paths_are_absolute_even_when_the_directory_is_given_relative() {
    let dir = ProvidersDir::new(&[Module::OpenAi, Module::NotAModule]);
    let (parent, name) = (
        dir.path().parent().unwrap(),
        dir.path().file_name().unwrap(),
    );

    let outcome = run(command()
        .arg("providers")
        .arg("--providers")
        .arg(name)
        .current_dir(parent));

    assert!(outcome.status.success(), "{outcome:?}");
    let openai = module_lines(&outcome, "openai");
    assert_eq!(openai.len(), 1, "{}", outcome.stdout);
    file_of(openai[0]);
    // `skip_reason` requires the path in the warning to be absolute.
    skip_reason(&outcome, Module::NotAModule.file_name());
}

#[test]
fn a_symlink_to_a_loaded_module_is_the_same_module() {
    let dir = ProvidersDir::new(&[Module::OpenAi]);
    dir.link("libalias.so", &Module::OpenAi.built_path());

    let outcome = providers(&dir);

    assert!(outcome.status.success(), "{outcome:?}");
    assert_eq!(
        module_lines(&outcome, "openai").len(),
        1,
        "{}",
        outcome.stdout
    );
    assert!(
        !outcome.stderr.contains("libalias.so"),
        "the alias is silently the same module:\n{}",
        outcome.stderr
    );
}

#[test]
fn a_second_file_with_the_same_provider_name_is_skipped() {
    let dir = ProvidersDir::new(&[Module::OpenAi]);
    dir.copy(Module::OpenAi, "libopenai_copy.so");

    let outcome = providers(&dir);

    assert!(outcome.status.success(), "{outcome:?}");
    let loaded = module_lines(&outcome, "openai");
    assert_eq!(loaded.len(), 1, "{}", outcome.stdout);
    // Which of the two loads first is the gateway's choice; the other is skipped.
    let skipped_name = if loaded[0].ends_with("libopenai_copy.so") {
        Module::OpenAi.file_name()
    } else {
        "libopenai_copy.so"
    };
    let reason = skip_reason(&outcome, skipped_name);
    assert!(
        reason.starts_with("provider 'openai' already loaded from /"),
        "{reason}"
    );
}

#[test]
fn a_module_whose_manifest_panics_is_skipped() {
    let dir = ProvidersDir::new(&[Module::OpenAi, Module::Panicking]);

    let outcome = run(command()
        .arg("providers")
        .arg("--providers")
        .arg(dir.path())
        .env("AI_GATEWAY_TEST_PANIC_IN_MANIFEST", "1"));

    assert!(outcome.status.success(), "{outcome:?}");
    assert_eq!(
        module_lines(&outcome, "openai").len(),
        1,
        "{}",
        outcome.stdout
    );
    let reason = skip_reason(&outcome, Module::Panicking.file_name());
    assert!(reason.contains("panicked"), "{reason}");
}

#[test]
fn the_default_providers_directory_is_the_one_holding_the_executable() {
    let (_dir, gateway) = gateway_beside(&[Module::OpenAi]);

    let outcome = run(std::process::Command::new(gateway)
        .arg("providers")
        .env_remove("AI_GATEWAY_PROVIDERS"));

    assert!(outcome.status.success(), "{outcome:?}");
    let openai = module_lines(&outcome, "openai");
    assert_eq!(openai.len(), 1, "{}", outcome.stdout);
    assert_eq!(outcome.stdout_lines().len(), 1, "{}", outcome.stdout);
}

/// A config whose routes name providers that have no module.
fn config_naming(providers: &[&str]) -> serde_json::Value {
    let paths: Vec<String> = providers.iter().map(|p| format!("/{p}")).collect();
    let routes = providers
        .iter()
        .zip(&paths)
        .map(|(provider, path)| {
            let mut config = openai("llm/v1/chat", "some-model", "http://127.0.0.1:9/");
            config["model"]["provider"] = json!(provider);
            (*provider, path.as_str(), config)
        })
        .collect();
    deck(vec![service("svc", routes)])
}

/// Checks that `stderr` has an `error: ` line naming `provider` and the providers directory.
fn assert_missing_provider_error(stderr: &str, provider: &str, dir: &Path) {
    // The directory as given, or resolved; it may be gone already, so resolve its parent.
    let canonical = std::fs::canonicalize(dir.parent().unwrap())
        .unwrap()
        .join(dir.file_name().unwrap());
    let named = stderr.lines().any(|line| {
        line.starts_with("error: ")
            && line.contains(provider)
            && (line.contains(&*dir.to_string_lossy())
                || line.contains(&*canonical.to_string_lossy()))
    });
    assert!(
        named,
        "expected an `error: ` line naming provider {provider} and directory {}:\n{stderr}",
        dir.display()
    );
}

#[test]
fn check_refuses_a_provider_with_no_module_naming_it_and_the_directory() {
    let dir = ProvidersDir::new(&[Module::OpenAi]);
    let files = TempDir::new("check");
    let config = files.write(
        "kong.yaml",
        to_yaml(&config_naming(&["cohere", "huggingface"])),
    );

    let outcome = run(&mut check(&config, &dir));

    assert_eq!(outcome.status.code(), Some(1), "{outcome:?}");
    // Every error is reported, each on its own line.
    assert_missing_provider_error(&outcome.stderr, "cohere", dir.path());
    assert_missing_provider_error(&outcome.stderr, "huggingface", dir.path());
}

#[test]
fn serve_refuses_to_start_when_a_provider_has_no_module() {
    let (outcome, dir) = Serve::new(config_naming(&["cohere"]))
        .modules(&[Module::OpenAi])
        .expect_exit();

    assert_eq!(outcome.status.code(), Some(1), "{outcome:?}");
    assert_missing_provider_error(&outcome.stderr, "cohere", &dir);
}

#[test]
fn check_reports_a_panic_in_validate_options_as_an_error() {
    let dir = ProvidersDir::new(&[Module::Panicking]);
    let files = TempDir::new("check");
    let config = single_route(
        "/panicking",
        json!({
            "route_type": "llm/v1/chat",
            "model": {
                "provider": "panicking",
                "name": "gpt-4o",
                "options": { "panic_in_validate": true },
            },
        }),
    );
    let config = files.write("kong.yaml", to_yaml(&config));

    let outcome = run(&mut check(&config, &dir));

    assert_eq!(outcome.status.code(), Some(1), "{outcome:?}");
    assert!(
        outcome
            .stderr
            .lines()
            .any(|l| l.starts_with("error: ") && l.contains("panicked")),
        "{}",
        outcome.stderr
    );
}

/// Every `.yaml` under `dir`, recursively.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn check_accepts_every_shipped_config_unchanged() {
    let configs = yaml_files(&repo_root().join("config"));
    for required in ["examples/ai-proxy.yaml", "examples/ai-proxy-bedrock.yaml"] {
        assert!(
            configs.contains(&repo_root().join("config").join(required)),
            "config/{required} is missing"
        );
    }
    // The real modules of the providers the examples name, so that each is checked against its
    // module's option rules (Kong's seed `ai-proxy.yaml` against the llama2 module's).
    let dir = ProvidersDir::new(&[Module::OpenAi, Module::Llama2, Module::Bedrock]);
    dir.link(Module::Mistral.file_name(), &Module::Mistral.built_path());
    dir.link(Module::Azure.file_name(), &Module::Azure.built_path());
    // No stand-in for Anthropic: its example is checked against the real module's option rules.
    dir.link(
        Module::Anthropic.file_name(),
        &Module::Anthropic.built_path(),
    );
    dir.link(
        Module::HuggingFace.file_name(),
        &Module::HuggingFace.built_path(),
    );
    dir.link(Module::Cohere.file_name(), &Module::Cohere.built_path());
    dir.link(Module::Gemini.file_name(), &Module::Gemini.built_path());

    let refused: Vec<String> = configs
        .iter()
        .filter_map(|config| {
            let outcome = run(check(config, &dir)
                .env("DECK_OPENAI_API_KEY", "sk-test")
                .env("DECK_AZURE_API_KEY", "azure-test")
                .env("DECK_GEMINI_API_KEY", "AIza-test")
                .env("DECK_COHERE_API_KEY", "co-test")
                .env("OPENAI_API_KEY", "sk-test")
                .env("DECK_MISTRAL_API_KEY", "mistral-test")
                .env("DECK_ANTHROPIC_API_KEY", "sk-ant-test")
                .env("DECK_HUGGINGFACE_TOKEN", "hf_test"));
            let printed = !outcome.stdout.trim().is_empty();
            (!outcome.status.success() || !printed)
                .then(|| format!("{}: {outcome:?}", config.display()))
        })
        .collect();

    assert!(refused.is_empty(), "check refused:\n{}", refused.join("\n"));
}

#[test]
fn check_names_a_missing_environment_variable() {
    let dir = ProvidersDir::new(&[Module::OpenAi]);
    let files = TempDir::new("check");
    let config = files.write(
        "kong.yaml",
        concat!(
            "_format_version: \"3.0\"\n",
            "services:\n",
            "  - name: svc\n",
            "    url: http://localhost:32000\n",
            "    routes:\n",
            "      - name: chat\n",
            "        paths: [\"/chat\"]\n",
            "        plugins:\n",
            "          - name: ai-proxy\n",
            "            config:\n",
            "              route_type: llm/v1/chat\n",
            "              auth:\n",
            "                header_name: Authorization\n",
            "                header_value: Bearer ${{ env \"AI_GATEWAY_TESTS_UNSET_KEY\" }}\n",
            "              model:\n",
            "                provider: openai\n",
            "                name: gpt-4o\n",
        ),
    );

    let outcome = run(check(&config, &dir).env_remove("AI_GATEWAY_TESTS_UNSET_KEY"));

    assert_eq!(outcome.status.code(), Some(1), "{outcome:?}");
    assert!(
        outcome
            .stderr
            .lines()
            .any(|l| l.starts_with("error: ") && l.contains("AI_GATEWAY_TESTS_UNSET_KEY")),
        "{}",
        outcome.stderr
    );
}
