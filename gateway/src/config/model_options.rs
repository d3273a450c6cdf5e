//! The checks Kong's schema makes on `config.model.options`. Options Kong does not define are
//! left for the provider module, which validates what it reads when the configuration loads.

use serde_json::Value;

use super::ai_proxy::require_all_or_none;
use super::error::ConfigErrors;
use super::record::Record;
use super::url::parse_http_url;
use crate::template::contains_expression;

const STRING_OPTIONS: &[&str] = &[
    "anthropic_version",
    "azure_instance",
    "azure_api_version",
    "azure_deployment_id",
    "upstream_path",
];

pub(crate) fn check_model_options(options: &Value, path: String, errors: &mut ConfigErrors) {
    let Some(mut record) = Record::open_extensible(options, path, errors) else {
        return;
    };
    record.integer("max_tokens");
    record.number_greater_than("input_cost", 0.0);
    record.number_greater_than("output_cost", 0.0);
    record.number_between("temperature", 0.0, 5.0);
    record.number_between("top_p", 0.0, 1.0);
    record.integer_between("top_k", 0, 500);
    for key in STRING_OPTIONS {
        record.string(key);
    }
    record.one_of("llama2_format", &["raw", "openai", "ollama"]);
    record.one_of("mistral_format", &["openai", "ollama"]);
    if let Some(url) = record.string("upstream_url") {
        if !contains_expression(url) {
            if let Err(reason) = parse_http_url(url) {
                record.report("upstream_url", reason);
            }
        }
    }
    if let Some(mut gemini) = record.extensible_record("gemini") {
        let group: Vec<(&str, bool)> = ["api_endpoint", "project_id", "location_id"]
            .into_iter()
            .map(|key| (key, gemini.string(key).is_some()))
            .collect();
        require_all_or_none(&mut gemini, &group);
    }
    if let Some(mut bedrock) = record.extensible_record("bedrock") {
        bedrock.string("aws_region");
    }
    if let Some(mut huggingface) = record.extensible_record("huggingface") {
        huggingface.bool("use_cache");
        huggingface.bool("wait_for_model");
    }
}
