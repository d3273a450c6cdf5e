use abi_stable::std_types::{RResult, RStr};
use ai_provider_huggingface::HuggingFace;
use provider_sdk::abi::RouteType;
use provider_sdk::{provider_module, Provider};
use serde_json::json;

#[test]
fn manifest_describes_the_module() {
    let manifest = HuggingFace::manifest();
    assert_eq!(manifest.name.as_str(), "huggingface");
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
}

fn refused(route_type: RouteType, options: serde_json::Value) -> String {
    let error = HuggingFace::validate_options(route_type, &options).unwrap_err();
    assert_eq!(error.status, 400);
    error.message.into_string()
}

#[test]
fn validate_options_names_what_this_provider_cannot_use() {
    let every_option = json!({
        "max_tokens": 256, "temperature": 0.7, "top_p": 0.9,
        "upstream_url": "https://my-endpoint.endpoints.huggingface.cloud",
        "input_cost": 0.1, "output_cost": 0.2,
        "huggingface": {"use_cache": true, "wait_for_model": true},
    });
    for route_type in [
        RouteType::CHAT,
        RouteType::COMPLETIONS,
        RouteType::EMBEDDINGS,
    ] {
        assert_eq!(
            HuggingFace::validate_options(route_type, &every_option),
            Ok(()),
            "{}",
            route_type.as_str()
        );
    }
    assert_eq!(
        HuggingFace::validate_options(RouteType::COMPLETIONS, &json!({"top_k": 40})),
        Ok(())
    );
    assert!(refused(RouteType::CHAT, json!({"top_k": 40})).starts_with("top_k: not supported"));
    assert!(refused(
        RouteType::COMPLETIONS,
        json!({"upstream_path": "/generate"})
    )
    .starts_with("upstream_path: not supported"));
    assert_eq!(
        refused(
            RouteType::CHAT,
            json!({"huggingface": {"use_cache": "yes"}})
        ),
        "huggingface.use_cache: must be a boolean"
    );
    assert_eq!(
        refused(RouteType(9), json!({})),
        "route_type: huggingface does not support route type 9"
    );
}

#[test]
fn exported_entry_points_reach_the_provider() {
    let module = provider_module::<HuggingFace>();
    assert_eq!(module.manifest()().unwrap().name.as_str(), "huggingface");
    let validate = module.validate_options();
    assert!(matches!(
        validate(RouteType::CHAT, RStr::from_str(r#"{"top_p": 2}"#)),
        RResult::RErr(e) if e.message.as_str() == "top_p: must be between 0 and 1"
    ));
    assert!(validate(RouteType::PRESERVE, RStr::from_str("{}")).is_ok());
}
