use abi_stable::std_types::{RResult, RStr};
use ai_provider_anthropic::Anthropic;
use provider_sdk::abi::RouteType;
use provider_sdk::{provider_module, Provider};
use serde_json::json;

fn rejected(route_type: RouteType, options: serde_json::Value) -> String {
    let error = Anthropic::validate_options(route_type, &options).unwrap_err();
    assert_eq!(error.status, 400);
    error.message.into_string()
}

#[test]
fn manifest_describes_the_module() {
    let manifest = Anthropic::manifest();
    assert_eq!(manifest.name.as_str(), "anthropic");
    assert_eq!(
        manifest.route_types.as_slice(),
        &[RouteType::CHAT, RouteType::COMPLETIONS, RouteType::PRESERVE]
    );
    assert!(manifest.native_formats.is_empty());
    assert_eq!(manifest.default_auth.as_str(), "header x-api-key: <key>");
    assert_eq!(manifest.sdk_version.as_str(), provider_sdk::SDK_VERSION);
}

#[test]
fn anthropic_version_is_required_on_every_route_type() {
    for route_type in [RouteType::CHAT, RouteType::COMPLETIONS, RouteType::PRESERVE] {
        assert_eq!(
            rejected(route_type, json!({"max_tokens": 256})),
            "anthropic_version: must be set for the anthropic provider"
        );
    }
    assert_eq!(
        rejected(RouteType::CHAT, json!({"anthropic_version": 2023})),
        "anthropic_version: must be a string"
    );
    assert!(rejected(
        RouteType::CHAT,
        json!({"anthropic_version": "2023-06-01\n"})
    )
    .starts_with("anthropic_version: must be a printable header value"));
}

#[test]
fn embeddings_are_refused_because_anthropic_has_none() {
    assert_eq!(
        rejected(
            RouteType::EMBEDDINGS,
            json!({"anthropic_version": "2023-06-01"})
        ),
        "route_type: anthropic does not support route type llm/v1/embeddings (Anthropic has no \
         embeddings API)"
    );
}

#[test]
fn valid_and_templated_options_load() {
    let options = json!({
        "anthropic_version": "2023-06-01", "max_tokens": 1024, "temperature": 0.7,
        "top_p": 0.9, "top_k": 40, "upstream_url": "http://127.0.0.1:9000",
        "input_cost": 3, "output_cost": 15,
    });
    for route_type in [RouteType::CHAT, RouteType::COMPLETIONS, RouteType::PRESERVE] {
        assert_eq!(Anthropic::validate_options(route_type, &options), Ok(()));
    }
    let templated = json!({
        "anthropic_version": "$(headers.anthropic-version)",
        "upstream_path": "$(uri_captures.path)",
    });
    assert_eq!(
        Anthropic::validate_options(RouteType::PRESERVE, &templated),
        Ok(())
    );
}

#[test]
fn bad_options_are_named() {
    let base = |extra: serde_json::Value| {
        let mut options = json!({"anthropic_version": "2023-06-01"});
        if let (Some(options), Some(extra)) = (options.as_object_mut(), extra.as_object()) {
            options.extend(extra.clone());
        }
        options
    };
    assert_eq!(
        rejected(RouteType::CHAT, base(json!({"top_k": 1000}))),
        "top_k: must be an integer between 0 and 500"
    );
    assert_eq!(
        rejected(RouteType::CHAT, base(json!({"anthropic_beta": "x"}))),
        "anthropic_beta: unknown option"
    );
    assert_eq!(
        rejected(
            RouteType::CHAT,
            base(json!({"upstream_url": "api.anthropic.com"}))
        ),
        "upstream_url: must be an absolute http or https URL"
    );
}

#[test]
fn exported_entry_points_reach_the_provider() {
    let module = provider_module::<Anthropic>();
    assert_eq!(module.manifest()().unwrap().name.as_str(), "anthropic");
    let validate = module.validate_options();
    assert!(matches!(
        validate(RouteType::CHAT, RStr::from_str("{}")),
        RResult::RErr(e) if e.message.as_str() == "anthropic_version: must be set for the anthropic provider"
    ));
    assert!(validate(
        RouteType::CHAT,
        RStr::from_str(r#"{"anthropic_version":"2023-06-01"}"#)
    )
    .is_ok());
}
