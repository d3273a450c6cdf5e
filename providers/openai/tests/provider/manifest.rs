use abi_stable::std_types::{RResult, RStr};
use ai_provider_openai::OpenAi;
use provider_sdk::abi::RouteType;
use provider_sdk::{provider_module, Provider};
use serde_json::json;

#[test]
fn manifest_describes_the_module() {
    let manifest = OpenAi::manifest();
    assert_eq!(manifest.name.as_str(), "openai");
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
    assert_eq!(manifest.sdk_version.as_str(), "0.1.0");
}

#[test]
fn validate_options_checks_ranges_and_route_types() {
    assert_eq!(
        OpenAi::validate_options(
            RouteType::CHAT,
            &json!({"temperature": 0.5, "max_tokens": 512})
        ),
        Ok(())
    );
    let error = OpenAi::validate_options(RouteType::CHAT, &json!({"temperature": 7})).unwrap_err();
    assert_eq!(error.status, 400);
    assert_eq!(
        error.message.as_str(),
        "temperature: must be between 0 and 5"
    );
    let error = OpenAi::validate_options(RouteType(9), &json!({})).unwrap_err();
    assert_eq!(
        error.message.as_str(),
        "route_type: openai does not support route type 9"
    );
}

#[test]
fn exported_entry_points_reach_the_provider() {
    let module = provider_module::<OpenAi>();
    let manifest = module.manifest()().unwrap();
    assert_eq!(manifest.name.as_str(), "openai");
    let validate = module.validate_options();
    assert!(matches!(
        validate(RouteType::CHAT, RStr::from_str(r#"{"top_p": 2}"#)),
        RResult::RErr(e) if e.message.as_str() == "top_p: must be between 0 and 1"
    ));
    assert!(validate(RouteType::PRESERVE, RStr::from_str("{}")).is_ok());
}
