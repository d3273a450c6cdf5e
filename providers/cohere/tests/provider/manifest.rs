use abi_stable::std_types::{RResult, RStr};
use ai_provider_cohere::Cohere;
use provider_sdk::abi::RouteType;
use provider_sdk::{provider_module, Provider};
use serde_json::json;

#[test]
fn manifest_describes_the_module() {
    let manifest = Cohere::manifest();
    assert_eq!(manifest.name.as_str(), "cohere");
    assert_eq!(
        manifest.route_types.as_slice(),
        &[
            RouteType::CHAT,
            RouteType::COMPLETIONS,
            RouteType::EMBEDDINGS,
            RouteType::PRESERVE
        ]
    );
    assert!(manifest.native_formats.is_empty());
    assert_eq!(
        manifest.default_auth.as_str(),
        "header Authorization: Bearer <key>"
    );
    assert_eq!(manifest.sdk_version.as_str(), provider_sdk::SDK_VERSION);
}

#[test]
fn validate_options_names_the_bad_option() {
    for (route_type, options) in [
        (RouteType::CHAT, json!({})),
        (
            RouteType::CHAT,
            json!({"temperature": 0.5, "cohere": {"api_version": "v1"}}),
        ),
        (
            RouteType::EMBEDDINGS,
            json!({"cohere": {"input_type": "classification"}}),
        ),
        (
            RouteType::COMPLETIONS,
            json!({"upstream_url": "http://localhost:9000"}),
        ),
        (RouteType::PRESERVE, json!({})),
        (
            RouteType::CHAT,
            json!({"cohere": {"api_version": "$(headers.x-cohere-version)"}}),
        ),
    ] {
        assert_eq!(
            Cohere::validate_options(route_type, &options),
            Ok(()),
            "{options}"
        );
    }
    let cases = [
        (json!({"temperature": 7}), "temperature: must be between 0 and 5"),
        (json!({"cohere": {"api_version": "v3"}}), "cohere.api_version: must be one of v1, v2"),
        (
            json!({"cohere": {"input_type": "query"}}),
            "cohere.input_type: must be one of search_document, search_query, classification, clustering",
        ),
        (json!({"azure_instance_name": "x"}), "azure_instance_name: unknown option"),
    ];
    for (options, message) in cases {
        let error = Cohere::validate_options(RouteType::CHAT, &options).unwrap_err();
        assert_eq!(error.status, 400);
        assert_eq!(error.message.as_str(), message, "{options}");
    }
    let error = Cohere::validate_options(RouteType(9), &json!({})).unwrap_err();
    assert_eq!(
        error.message.as_str(),
        "route_type: cohere does not support route type 9"
    );
}

#[test]
fn exported_entry_points_reach_the_provider() {
    let module = provider_module::<Cohere>();
    let manifest = module.manifest()().unwrap();
    assert_eq!(manifest.name.as_str(), "cohere");
    let validate = module.validate_options();
    assert!(matches!(
        validate(RouteType::CHAT, RStr::from_str(r#"{"cohere":{"api_version":"v0"}}"#)),
        RResult::RErr(e) if e.message.as_str() == "cohere.api_version: must be one of v1, v2"
    ));
    assert!(validate(RouteType::EMBEDDINGS, RStr::from_str("{}")).is_ok());
}
