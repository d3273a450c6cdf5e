use abi_stable::std_types::{RResult, RStr};
use ai_provider_llama2::Llama2;
use provider_sdk::abi::RouteType;
use provider_sdk::{provider_module, Provider};
use serde_json::json;

fn rejected(route_type: RouteType, options: serde_json::Value) -> String {
    let error = Llama2::validate_options(route_type, &options).unwrap_err();
    assert_eq!(error.status, 400);
    error.message.into_string()
}

#[test]
fn manifest_describes_the_module() {
    let manifest = Llama2::manifest();
    assert_eq!(manifest.name.as_str(), "llama2");
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
    assert!(manifest.default_auth.starts_with("none"));
    assert_eq!(manifest.sdk_version.as_str(), provider_sdk::SDK_VERSION);
}

#[test]
fn upstream_url_and_llama2_format_are_required() {
    for route_type in [RouteType::CHAT, RouteType::COMPLETIONS, RouteType::PRESERVE] {
        assert_eq!(
            rejected(route_type, json!({"llama2_format": "ollama"})),
            "upstream_url: must be set for the llama2 provider"
        );
        assert_eq!(
            rejected(route_type, json!({"upstream_url": "http://h:1/api/chat"})),
            "llama2_format: must be set for the llama2 provider"
        );
    }
    assert_eq!(
        rejected(RouteType::CHAT, json!({})),
        "upstream_url: must be set for the llama2 provider"
    );
    assert_eq!(
        rejected(
            RouteType::CHAT,
            json!({"llama2_format": "tgi", "upstream_url": "http://h:1/"})
        ),
        "llama2_format: must be one of raw, ollama, openai"
    );
}

#[test]
fn kongs_seed_route_and_every_format_load() {
    // config/examples/ai-proxy.yaml, unchanged.
    let seed =
        json!({"llama2_format": "ollama", "upstream_url": "http://ollama.ollama:11434/api/chat"});
    assert_eq!(Llama2::validate_options(RouteType::CHAT, &seed), Ok(()));
    for format in ["raw", "ollama", "openai"] {
        let options = json!({
            "llama2_format": format, "upstream_url": "http://127.0.0.1:9000/x",
            "max_tokens": 256, "temperature": 0.2, "top_p": 0.9, "top_k": 40,
            "input_cost": 1, "output_cost": 2,
        });
        for route_type in [RouteType::CHAT, RouteType::COMPLETIONS, RouteType::PRESERVE] {
            assert_eq!(
                Llama2::validate_options(route_type, &options),
                Ok(()),
                "{format} {route_type:?}"
            );
        }
    }
    let templated = json!({"llama2_format": "raw", "upstream_url": "$(headers.x-upstream)"});
    assert_eq!(
        Llama2::validate_options(RouteType::CHAT, &templated),
        Ok(())
    );
}

#[test]
fn embeddings_need_a_format_that_has_them() {
    for format in ["ollama", "openai"] {
        let options = json!({"llama2_format": format, "upstream_url": "http://h:1/api/embed"});
        assert_eq!(
            Llama2::validate_options(RouteType::EMBEDDINGS, &options),
            Ok(())
        );
    }
    assert_eq!(
        rejected(
            RouteType::EMBEDDINGS,
            json!({"llama2_format": "raw", "upstream_url": "http://h:1/"})
        ),
        "route_type: llama2_format raw serves no embeddings; use llama2_format ollama or openai"
    );
}

#[test]
fn the_chat_template_option_is_checked() {
    let raw = |template: serde_json::Value| json!({"llama2_format": "raw", "upstream_url": "http://h:1/", "llama2_chat_template": template});
    assert_eq!(
        Llama2::validate_options(RouteType::CHAT, &raw(json!("llama3"))),
        Ok(())
    );
    assert_eq!(
        rejected(RouteType::CHAT, raw(json!("chatml"))),
        "llama2_chat_template: must be one of llama2, llama3"
    );
    assert!(
        rejected(RouteType::CHAT, raw(json!(3))).starts_with("llama2_chat_template: invalid type")
    );
    assert_eq!(
        rejected(
            RouteType::CHAT,
            json!({"llama2_format": "ollama", "upstream_url": "http://h:1/", "llama2_chat_template": "llama3"})
        ),
        "llama2_chat_template: only applies to llama2_format raw"
    );
}

#[test]
fn other_bad_options_are_named() {
    let base = json!({"llama2_format": "ollama", "upstream_url": "http://h:1/api/chat"});
    let with = |key: &str, value: serde_json::Value| {
        let mut options = base.clone();
        options[key] = value;
        options
    };
    assert_eq!(
        rejected(RouteType::CHAT, with("upstream_url", json!("h:1/api/chat"))),
        "upstream_url: must be an absolute http or https URL"
    );
    assert_eq!(
        rejected(RouteType::CHAT, with("temperature", json!(9))),
        "temperature: must be between 0 and 5"
    );
    assert_eq!(
        rejected(RouteType::CHAT, with("llama_format", json!("raw"))),
        "llama_format: unknown option"
    );
    assert_eq!(
        rejected(RouteType(9), base.clone()),
        "route_type: llama2 does not support route type 9"
    );
}

#[test]
fn exported_entry_points_reach_the_provider() {
    let module = provider_module::<Llama2>();
    assert_eq!(module.manifest()().unwrap().name.as_str(), "llama2");
    let validate = module.validate_options();
    assert!(matches!(
        validate(RouteType::CHAT, RStr::from_str(r#"{"upstream_url":"http://h:1/api/chat"}"#)),
        RResult::RErr(e) if e.message.as_str() == "llama2_format: must be set for the llama2 provider"
    ));
    assert!(validate(
        RouteType::CHAT,
        RStr::from_str(r#"{"llama2_format":"ollama","upstream_url":"http://h:1/api/chat"}"#)
    )
    .is_ok());
}
