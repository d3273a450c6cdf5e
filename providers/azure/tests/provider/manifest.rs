use abi_stable::std_types::{RResult, RStr};
use ai_provider_azure::Azure;
use provider_sdk::abi::RouteType;
use provider_sdk::{provider_module, Provider};
use serde_json::json;

fn rejected(route_type: RouteType, options: serde_json::Value) -> String {
    let error = Azure::validate_options(route_type, &options).unwrap_err();
    assert_eq!(error.status, 400);
    error.message.into_string()
}

#[test]
fn manifest_describes_the_module() {
    let manifest = Azure::manifest();
    assert_eq!(manifest.name.as_str(), "azure");
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
    assert_eq!(manifest.default_auth.as_str(), "header api-key: <key>");
    assert_eq!(manifest.sdk_version.as_str(), provider_sdk::SDK_VERSION);
}

#[test]
fn instance_and_deployment_are_required() {
    for route_type in [RouteType::CHAT, RouteType::EMBEDDINGS, RouteType::PRESERVE] {
        assert_eq!(
            rejected(route_type, json!({"azure_deployment_id": "d"})),
            "azure_instance: must be set for the azure provider"
        );
        assert_eq!(
            rejected(route_type, json!({"azure_instance": "i"})),
            "azure_deployment_id: must be set for the azure provider"
        );
    }
    assert_eq!(
        rejected(RouteType::CHAT, json!({})),
        "azure_instance: must be set for the azure provider"
    );
}

#[test]
fn valid_and_templated_options_load() {
    let options = json!({
        "azure_instance": "001-kong-t", "azure_deployment_id": "gpt-4o",
        "azure_api_version": "2024-10-21", "max_tokens": 256, "temperature": 0.2,
        "upstream_url": "http://127.0.0.1:9000", "input_cost": 1.5, "output_cost": 6,
    });
    for route_type in [
        RouteType::CHAT,
        RouteType::COMPLETIONS,
        RouteType::EMBEDDINGS,
        RouteType::PRESERVE,
    ] {
        assert_eq!(Azure::validate_options(route_type, &options), Ok(()));
    }
    let templated = json!({
        "azure_instance": "$(headers.x-azure-instance)",
        "azure_deployment_id": "$(uri_captures.deployment)",
        "upstream_path": "$(uri_captures.operation_path)",
    });
    assert_eq!(
        Azure::validate_options(RouteType::PRESERVE, &templated),
        Ok(())
    );
}

#[test]
fn bad_options_are_named() {
    let base = |extra: serde_json::Value| {
        let mut options = json!({"azure_instance": "i", "azure_deployment_id": "d"});
        if let (Some(options), Some(extra)) = (options.as_object_mut(), extra.as_object()) {
            options.extend(extra.clone());
        }
        options
    };
    assert_eq!(
        rejected(RouteType::CHAT, base(json!({"azure_api_version": 2024}))),
        "azure_api_version: must be a string"
    );
    assert_eq!(
        rejected(RouteType::CHAT, base(json!({"temperature": 9}))),
        "temperature: must be between 0 and 5"
    );
    assert_eq!(
        rejected(RouteType::CHAT, base(json!({"azure_region": "eu"}))),
        "azure_region: unknown option"
    );
    assert!(
        rejected(RouteType::CHAT, base(json!({"azure_deployment_id": "a/b"})))
            .starts_with("azure_deployment_id: must be a plain name")
    );
    assert_eq!(
        rejected(RouteType(9), base(json!({}))),
        "route_type: azure does not support route type 9"
    );
}

#[test]
fn exported_entry_points_reach_the_provider() {
    let module = provider_module::<Azure>();
    assert_eq!(module.manifest()().unwrap().name.as_str(), "azure");
    let validate = module.validate_options();
    assert!(matches!(
        validate(RouteType::CHAT, RStr::from_str(r#"{"azure_instance":"i"}"#)),
        RResult::RErr(e) if e.message.as_str() == "azure_deployment_id: must be set for the azure provider"
    ));
    assert!(validate(
        RouteType::CHAT,
        RStr::from_str(r#"{"azure_instance":"i","azure_deployment_id":"d"}"#)
    )
    .is_ok());
}
