use abi_stable::std_types::{RResult, RStr};
use ai_provider_mistral::Mistral;
use provider_sdk::abi::RouteType;
use provider_sdk::{provider_module, Provider};
use serde_json::json;

fn rejected(route_type: RouteType, options: serde_json::Value) -> String {
    let error = Mistral::validate_options(route_type, &options).unwrap_err();
    assert_eq!(error.status, 400);
    error.message.into_string()
}

#[test]
fn manifest_describes_the_module() {
    let manifest = Mistral::manifest();
    assert_eq!(manifest.name.as_str(), "mistral");
    assert_eq!(
        manifest.route_types.as_slice(),
        &[
            RouteType::CHAT,
            RouteType::COMPLETIONS,
            RouteType::EMBEDDINGS,
            RouteType::PRESERVE
        ]
    );
    assert_eq!(
        manifest.default_auth.as_str(),
        "header Authorization: Bearer <key>"
    );
    assert_eq!(manifest.sdk_version.as_str(), provider_sdk::SDK_VERSION);
}

#[test]
fn mistral_format_is_required_and_checked() {
    for route_type in [RouteType::CHAT, RouteType::EMBEDDINGS, RouteType::PRESERVE] {
        assert_eq!(
            rejected(route_type, json!({})),
            "mistral_format: must be set for the mistral provider"
        );
    }
    assert_eq!(
        rejected(RouteType::CHAT, json!({"mistral_format": "raw"})),
        "mistral_format: must be one of openai, ollama"
    );
}

#[test]
fn the_managed_api_needs_no_url_but_completions_do() {
    for route_type in [RouteType::CHAT, RouteType::EMBEDDINGS, RouteType::PRESERVE] {
        assert_eq!(
            Mistral::validate_options(route_type, &json!({"mistral_format": "openai"})),
            Ok(())
        );
    }
    assert_eq!(
        rejected(RouteType::COMPLETIONS, json!({"mistral_format": "openai"})),
        "mistral has no default endpoint for route type llm/v1/completions: set upstream_url or upstream_path"
    );
    // Kong's mistral integration test: completions from an OpenAI-compatible server.
    let self_hosted =
        json!({"mistral_format": "openai", "upstream_url": "http://127.0.0.1:9000/v1/completions"});
    assert_eq!(
        Mistral::validate_options(RouteType::COMPLETIONS, &self_hosted),
        Ok(())
    );
}

#[test]
fn the_ollama_format_needs_upstream_url() {
    assert_eq!(
        rejected(RouteType::CHAT, json!({"mistral_format": "ollama"})),
        "upstream_url: must be set for the mistral provider"
    );
    let options =
        json!({"mistral_format": "ollama", "upstream_url": "http://ollama:11434/api/chat"});
    for route_type in [
        RouteType::CHAT,
        RouteType::COMPLETIONS,
        RouteType::EMBEDDINGS,
        RouteType::PRESERVE,
    ] {
        assert_eq!(Mistral::validate_options(route_type, &options), Ok(()));
    }
}

#[test]
fn exported_entry_points_reach_the_provider() {
    let module = provider_module::<Mistral>();
    assert_eq!(module.manifest()().unwrap().name.as_str(), "mistral");
    let validate = module.validate_options();
    assert!(matches!(
        validate(RouteType::CHAT, RStr::from_str("{}")),
        RResult::RErr(e) if e.message.as_str() == "mistral_format: must be set for the mistral provider"
    ));
    assert!(validate(
        RouteType::CHAT,
        RStr::from_str(r#"{"mistral_format":"openai"}"#)
    )
    .is_ok());
}
