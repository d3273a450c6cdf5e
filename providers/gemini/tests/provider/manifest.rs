use abi_stable::std_types::{RResult, RStr};
use ai_provider_gemini::Gemini;
use provider_sdk::abi::RouteType;
use provider_sdk::{provider_module, Provider};
use serde_json::json;

fn rejected(route_type: RouteType, options: serde_json::Value) -> String {
    let error = Gemini::validate_options(route_type, &options).unwrap_err();
    assert_eq!(error.status, 400);
    error.message.into_string()
}

#[test]
fn manifest_describes_the_module() {
    let manifest = Gemini::manifest();
    assert_eq!(manifest.name.as_str(), "gemini");
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
    assert!(manifest
        .default_auth
        .as_str()
        .starts_with("header x-goog-api-key: <key>"));
    assert_eq!(manifest.sdk_version.as_str(), provider_sdk::SDK_VERSION);
}

#[test]
fn gemini_api_vertex_and_templated_options_load() {
    let gemini_api = json!({
        "max_tokens": 256, "temperature": 0.2, "top_p": 0.9, "top_k": 40,
        "input_cost": 0.1, "output_cost": 0.4, "upstream_url": "http://127.0.0.1:9000",
    });
    let vertex = json!({"gemini": {
        "api_endpoint": "us-central1-aiplatform.googleapis.com",
        "project_id": "my-project", "location_id": "us-central1",
    }});
    let templated = json!({"gemini": {
        "api_endpoint": "$(headers.x-endpoint)", "project_id": "$(uri_captures.project)",
        "location_id": "$(query_params.location)",
    }, "upstream_path": "$(uri_captures.path)"});
    for route_type in [
        RouteType::CHAT,
        RouteType::COMPLETIONS,
        RouteType::EMBEDDINGS,
        RouteType::PRESERVE,
    ] {
        for options in [&json!({}), &gemini_api, &vertex, &templated] {
            assert_eq!(
                Gemini::validate_options(route_type, options),
                Ok(()),
                "{options}"
            );
        }
    }
}

#[test]
fn bad_options_are_named() {
    assert_eq!(
        rejected(RouteType::CHAT, json!({"gemini": {"project_id": "p"}})),
        "gemini: api_endpoint, project_id and location_id must be set together"
    );
    assert!(rejected(
        RouteType::CHAT,
        json!({"gemini": {"api_endpoint": "evil.com/x#", "project_id": "p", "location_id": "l"}})
    )
    .starts_with("gemini.api_endpoint: must be a host name"));
    assert!(rejected(
        RouteType::CHAT,
        json!({"gemini": {"api_endpoint": "h", "project_id": "p/../q", "location_id": "l"}})
    )
    .starts_with("gemini.project_id: must be a plain name"));
    assert_eq!(
        rejected(RouteType::CHAT, json!({"temperature": 9})),
        "temperature: must be between 0 and 5"
    );
    assert_eq!(
        rejected(RouteType::CHAT, json!({"gemini": {"region": "eu"}})),
        "gemini.region: unknown option"
    );
    assert_eq!(
        rejected(RouteType(9), json!({})),
        "route_type: gemini does not support route type 9"
    );
}

#[test]
fn exported_entry_points_reach_the_provider() {
    let module = provider_module::<Gemini>();
    assert_eq!(module.manifest()().unwrap().name.as_str(), "gemini");
    let validate = module.validate_options();
    assert!(matches!(
        validate(RouteType::CHAT, RStr::from_str(r#"{"gemini":{"location_id":"l"}}"#)),
        RResult::RErr(e) if e.message.as_str() == "gemini: api_endpoint, project_id and location_id must be set together"
    ));
    assert!(validate(RouteType::CHAT, RStr::from_str("{}")).is_ok());
}
