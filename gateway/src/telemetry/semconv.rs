//! The names the gateway exports: OpenTelemetry GenAI semantic convention attributes and metrics,
//! and its own under the `ai_gateway.` prefix. One place, so that spans, OTLP metrics and the
//! Prometheus text use the same names.

use std::sync::Arc;

use opentelemetry::{KeyValue, StringValue, Value};

pub const OPERATION_NAME: &str = "gen_ai.operation.name";
pub const PROVIDER_NAME: &str = "gen_ai.provider.name";
/// The name older backends read instead of `gen_ai.provider.name`.
pub const SYSTEM: &str = "gen_ai.system";
pub const REQUEST_MODEL: &str = "gen_ai.request.model";
pub const REQUEST_MAX_TOKENS: &str = "gen_ai.request.max_tokens";
pub const REQUEST_TEMPERATURE: &str = "gen_ai.request.temperature";
pub const REQUEST_TOP_P: &str = "gen_ai.request.top_p";
pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
pub const RESPONSE_ID: &str = "gen_ai.response.id";
pub const RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
pub const USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
pub const USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
pub const USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
pub const TOKEN_TYPE: &str = "gen_ai.token.type";

pub const SERVER_ADDRESS: &str = "server.address";
pub const SERVER_PORT: &str = "server.port";
pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
pub const HTTP_REQUEST_RESEND_COUNT: &str = "http.request.resend_count";
pub const URL_PATH: &str = "url.path";
pub const ERROR_TYPE: &str = "error.type";

pub const ROUTE: &str = "ai_gateway.route";
pub const SERVICE: &str = "ai_gateway.service";
pub const PROVIDER_MODULE: &str = "ai_gateway.provider_module";
pub const COST: &str = "ai_gateway.cost";
pub const TTFT_MS: &str = "ai_gateway.ttft_ms";
pub const TIME_PER_OUTPUT_TOKEN_MS: &str = "ai_gateway.time_per_output_token_ms";
pub const RETRIES: &str = "ai_gateway.retries";
pub const USAGE_ESTIMATED: &str = "ai_gateway.usage.estimated";
/// The name of the span event that carries the Kong-compatible analytics record.
pub const ANALYTICS_EVENT: &str = "ai.proxy";

pub const METRIC_TOKEN_USAGE: &str = "gen_ai.client.token.usage";
pub const METRIC_OPERATION_DURATION: &str = "gen_ai.client.operation.duration";
pub const METRIC_TIME_TO_FIRST_TOKEN: &str = "gen_ai.server.time_to_first_token";
pub const METRIC_TIME_PER_OUTPUT_TOKEN: &str = "gen_ai.server.time_per_output_token";
pub const METRIC_COST: &str = "ai_gateway.cost";
pub const METRIC_REQUESTS: &str = "ai_gateway.requests";

/// `(gen_ai.provider.name, gen_ai.system)` for a configured provider: the semantic conventions'
/// well-known values where there is one, else the provider's own name.
pub fn provider_names(provider: &str) -> (&str, &str) {
    match provider {
        "azure" => ("azure.ai.openai", "az.ai.openai"),
        "bedrock" => ("aws.bedrock", "aws.bedrock"),
        "gemini" => ("gcp.gemini", "gemini"),
        "mistral" => ("mistral_ai", "mistral_ai"),
        other => (other, other),
    }
}

/// The attributes that name a route in its spans and metric series: route, service, and for an
/// ai-proxy route the operation, provider and system. Values are shared strings, so cloning the
/// list per request only bumps reference counts.
pub fn route_attributes(
    route: &str,
    service: &str,
    ai: Option<&crate::runtime::AiRoute>,
) -> Vec<KeyValue> {
    let text = |s: &str| Value::String(StringValue::from(Arc::<str>::from(s)));
    let mut attributes = vec![
        KeyValue::new(ROUTE, text(route)),
        KeyValue::new(SERVICE, text(service)),
    ];
    if let Some(ai) = ai {
        let (provider, system) = provider_names(&ai.config.model.provider);
        attributes.extend([
            KeyValue::new(OPERATION_NAME, ai.config.route_type.operation_name()),
            KeyValue::new(PROVIDER_NAME, text(provider)),
            KeyValue::new(SYSTEM, text(system)),
        ]);
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_providers_get_the_conventions_names() {
        assert_eq!(provider_names("openai"), ("openai", "openai"));
        assert_eq!(provider_names("azure"), ("azure.ai.openai", "az.ai.openai"));
        assert_eq!(provider_names("bedrock"), ("aws.bedrock", "aws.bedrock"));
        assert_eq!(provider_names("llama2"), ("llama2", "llama2"));
    }
}
