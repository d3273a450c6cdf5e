use abi_stable::std_types::{RResult, RStr};
use ai_provider_bedrock::Bedrock;
use provider_sdk::abi::RouteType;
use provider_sdk::{provider_module, Provider};
use serde_json::json;

const ALL: [RouteType; 4] = [
    RouteType::CHAT,
    RouteType::COMPLETIONS,
    RouteType::EMBEDDINGS,
    RouteType::PRESERVE,
];

fn rejected(route_type: RouteType, options: serde_json::Value) -> String {
    let error = Bedrock::validate_options(route_type, &options).unwrap_err();
    assert_eq!(error.status, 400);
    error.message.into_string()
}

#[test]
fn manifest_describes_the_module() {
    let manifest = Bedrock::manifest();
    assert_eq!(manifest.name.as_str(), "bedrock");
    assert_eq!(manifest.route_types.as_slice(), &ALL);
    assert!(manifest.native_formats.is_empty());
    assert_eq!(manifest.default_auth.as_str(), "sigv4");
    assert_eq!(manifest.sdk_version.as_str(), provider_sdk::SDK_VERSION);
}

#[test]
fn the_seed_options_and_templates_load() {
    let seed = json!({"bedrock": {"aws_region": "us-west-2"}});
    let tuned = json!({
        "bedrock": {"aws_region": "eu-central-1"}, "max_tokens": 512, "temperature": 0.5,
        "top_p": 0.9, "top_k": 40, "upstream_url": "https://vpce-1.bedrock-runtime.us-west-2.vpce.amazonaws.com",
        "input_cost": 0.035, "output_cost": 0.14,
    });
    let templated = json!({
        "bedrock": {"aws_region": "$(headers.x-region)"},
        "upstream_url": "$(headers.x-endpoint)",
    });
    for route_type in ALL {
        for options in [&seed, &tuned, &templated] {
            assert_eq!(
                Bedrock::validate_options(route_type, options),
                Ok(()),
                "{options}"
            );
        }
    }
}

#[test]
fn the_region_is_required_and_must_be_a_region() {
    // The gateway fills an empty region from the environment at load: an options object without
    // one means there was none anywhere.
    for route_type in ALL {
        assert_eq!(
            rejected(route_type, json!({})),
            "bedrock.aws_region: must be set for the bedrock provider"
        );
    }
    assert_eq!(
        rejected(RouteType::CHAT, json!({"bedrock": {"aws_region": "us-west-2.attacker.example"}})),
        "bedrock.aws_region: `us-west-2.attacker.example` is not an AWS region name such as us-west-2"
    );
    assert_eq!(
        rejected(RouteType::CHAT, json!({"bedrock": {"region": "us-west-2"}})),
        "bedrock.region: unknown option"
    );
}

#[test]
fn upstream_path_is_for_preserve_only() {
    let options =
        json!({"bedrock": {"aws_region": "us-west-2"}, "upstream_path": "/model/x/converse"});
    assert_eq!(
        Bedrock::validate_options(RouteType::PRESERVE, &options),
        Ok(())
    );
    for route_type in [
        RouteType::CHAT,
        RouteType::COMPLETIONS,
        RouteType::EMBEDDINGS,
    ] {
        assert!(rejected(route_type, options.clone())
            .starts_with("upstream_path: only applies to preserve routes with provider bedrock"));
    }
}

#[test]
fn unknown_route_types_are_refused() {
    assert_eq!(
        rejected(
            RouteType(9),
            json!({"bedrock": {"aws_region": "us-west-2"}})
        ),
        "route_type: bedrock does not support route type unknown"
    );
}

#[test]
fn exported_entry_points_reach_the_provider() {
    let module = provider_module::<Bedrock>();
    assert_eq!(module.manifest()().unwrap().name.as_str(), "bedrock");
    let validate = module.validate_options();
    assert!(matches!(
        validate(RouteType::CHAT, RStr::from_str("{}")),
        RResult::RErr(e) if e.message.as_str() == "bedrock.aws_region: must be set for the bedrock provider"
    ));
    assert!(validate(
        RouteType::CHAT,
        RStr::from_str(r#"{"bedrock":{"aws_region":"us-west-2"}}"#)
    )
    .is_ok());
}
