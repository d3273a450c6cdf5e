//! A stand-in `llama2` provider module for `ai-gateway check` on the example configs.

const PROVIDER_NAME: &str = "llama2";

#[path = "../../stub.rs"]
mod stub;

provider_sdk::export_provider!(stub::Stub);
