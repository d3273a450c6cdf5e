//! A stand-in `bedrock` provider module for `ai-gateway check` on the example configs.

const PROVIDER_NAME: &str = "bedrock";

#[path = "../../stub.rs"]
mod stub;

provider_sdk::export_provider!(stub::Stub);
