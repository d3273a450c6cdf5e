//! What goes upstream: URLs, headers and bodies, each body checked against Hugging Face's schema.

use abi_stable::std_types::RStr;
use ai_provider_huggingface::HuggingFace;
use provider_sdk::abi::{Framing, RouteType};
use provider_sdk::ClientBody;
use provider_sdk::Provider;
use serde_json::{json, Value};

use crate::common::{
    assert_hf_schema, build, fixture, header, json, plan, sent_body, streamed, CHAT_INPUT_SCHEMA,
    GENERATION_INPUT_SCHEMA, MODEL,
};

fn refused(route_type: RouteType, body: &str) -> String {
    let error = HuggingFace::build_request(
        &plan(route_type, MODEL, "{}"),
        &ClientBody::new(body.as_bytes()),
    )
    .unwrap_err();
    assert_eq!(error.status, 400, "{error}");
    error.message.into_string()
}

fn assert_options_headers(
    request: &provider_sdk::abi::UpstreamRequest,
    use_cache: &str,
    wait: &str,
) {
    assert_eq!(header(request, "content-type"), Some("application/json"));
    assert_eq!(header(request, "x-use-cache"), Some(use_cache));
    assert_eq!(header(request, "x-wait-for-model"), Some(wait));
}

#[test]
fn kong_chat_request_goes_to_the_models_messages_api() {
    let body = fixture("huggingface/llm-v1-chat/requests/good.json");
    let request = build(&plan(RouteType::CHAT, MODEL, "{}"), &body);
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request.url.as_str(),
        "https://api-inference.huggingface.co/models/mistralai/Mistral-7B-Instruct-v0.2/v1/chat/completions"
    );
    assert_eq!(request.response_framing, Framing::JSON);
    assert_options_headers(&request, "false", "false");
    let sent = sent_body(&request, &body);
    let mut expected = json(&body);
    expected["model"] = json!(MODEL);
    assert_eq!(
        sent, expected,
        "Kong's `parameters` and `options` are not added"
    );
    assert_hf_schema(CHAT_INPUT_SCHEMA, &sent);
}

#[test]
fn configured_tuning_stays_where_tgis_chat_reads_it() {
    // Kong moves these into `parameters` (with `max_tokens` as a misspelt `max_lenght`), which
    // TGI's chat ignores.
    let body = fixture("unit/requests/llm-v1-chat.json");
    let options = r#"{"max_tokens":256,"temperature":0.5,"top_p":0.9}"#;
    let request = build(&plan(RouteType::CHAT, MODEL, options), &body);
    let sent = sent_body(&request, &body);
    assert_eq!(sent["max_tokens"], 256);
    assert_eq!(sent["temperature"], 0.5);
    assert_eq!(sent["top_p"], 0.9);
    assert!(sent.get("parameters").is_none());
    assert_eq!(
        sent["messages"],
        json(&body)["messages"],
        "assistant turns kept"
    );
    assert_hf_schema(CHAT_INPUT_SCHEMA, &sent);
}

#[test]
fn a_streamed_chat_asks_tgi_for_the_usage_chunk() {
    let body = fixture("huggingface/llm-v1-chat/requests/good.json");
    let request = build(&streamed(plan(RouteType::CHAT, MODEL, "{}"), false), &body);
    assert_eq!(request.response_framing, Framing::SSE);
    let sent = sent_body(&request, &body);
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
    assert_hf_schema(CHAT_INPUT_SCHEMA, &sent);
}

#[test]
fn tools_and_tool_results_pass_through() {
    let body = fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json");
    let request = build(&streamed(plan(RouteType::CHAT, MODEL, "{}"), true), &body);
    let sent = sent_body(&request, &body);
    assert_eq!(sent["tools"], json(&body)["tools"]);
    assert_hf_schema(CHAT_INPUT_SCHEMA, &sent);

    let history = json!({
        "messages": [
            {"role": "user", "content": "What is 2 + 12?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "0", "type": "function", "function": {"name": "add", "arguments": "{\"a\":2,\"b\":12}"}}
            ]},
            {"role": "tool", "tool_call_id": "0", "content": "14"},
        ],
        "tools": json(&body)["tools"],
        "tool_choice": {"type": "function", "function": {"name": "add"}},
    })
    .to_string();
    let request = build(&plan(RouteType::CHAT, MODEL, "{}"), history.as_bytes());
    let sent = sent_body(&request, history.as_bytes());
    assert!(
        sent["messages"][1].get("content").is_none(),
        "TGI would take the empty text over the tool calls"
    );
    assert_eq!(
        sent["messages"][1]["tool_calls"][0]["function"]["name"],
        "add"
    );
    assert_eq!(sent["messages"][2]["content"], "14");
    assert_eq!(
        sent["tool_choice"],
        json!({"type": "function", "function": {"name": "add"}})
    );
    assert_hf_schema(CHAT_INPUT_SCHEMA, &sent);
}

#[test]
fn stop_and_max_completion_tokens_are_written_as_tgi_reads_them() {
    let body = br#"{"messages":[{"role":"user","content":"Count"}],"stop":"5","max_completion_tokens":20,"seed":7,"response_format":{"type":"json_object"},"logprobs":true,"top_logprobs":2}"#;
    let request = build(&plan(RouteType::CHAT, MODEL, r#"{"max_tokens":10}"#), body);
    let sent = sent_body(&request, body);
    assert_eq!(sent["stop"], json!(["5"]));
    assert_eq!(sent["max_tokens"], 10, "the configured cap wins");
    assert!(sent.get("max_completion_tokens").is_none());
    assert_hf_schema(CHAT_INPUT_SCHEMA, &sent);

    let request = build(&plan(RouteType::CHAT, MODEL, "{}"), body);
    assert_eq!(sent_body(&request, body)["max_tokens"], 20);
}

#[test]
fn chat_fields_tgi_would_ignore_are_400s() {
    assert_eq!(
        refused(
            RouteType::CHAT,
            r#"{"messages":[{"role":"user","content":"x"}],"top_k":3,"user":"u"}"#
        ),
        "`top_k`, `user` are not supported by provider huggingface"
    );
    assert!(refused(
        RouteType::CHAT,
        r#"{"messages":[{"role":"user","content":"x"}],"n":3}"#
    )
    .starts_with("`n` greater than 1"));
}

#[test]
fn chat_with_upstream_url_appends_the_chat_path() {
    let options = r#"{"upstream_url":"http://tgi.internal:8080"}"#;
    let mut chat = plan(RouteType::CHAT, "tgi", options);
    chat.client_query = RStr::from_str("trace=1");
    let request = build(&chat, br#"{"messages":[{"role":"user","content":"x"}]}"#);
    assert_eq!(
        request.url.as_str(),
        "http://tgi.internal:8080/v1/chat/completions?trace=1"
    );
}

#[test]
fn kong_completion_request_becomes_text_generation() {
    let body = fixture("huggingface/llm-v1-completions/requests/good.json");
    let request = build(&plan(RouteType::COMPLETIONS, MODEL, "{}"), &body);
    assert_eq!(
        request.url.as_str(),
        "https://api-inference.huggingface.co/models/mistralai/Mistral-7B-Instruct-v0.2"
    );
    assert_eq!(request.response_framing, Framing::JSON);
    assert_options_headers(&request, "false", "false");
    let sent = sent_body(&request, &body);
    assert_eq!(
        sent,
        json!({
            "inputs": "What are you?",
            "parameters": {"return_full_text": false, "details": true},
            "options": {"use_cache": false, "wait_for_model": false},
            "stream": false,
        })
    );
    assert_hf_schema(GENERATION_INPUT_SCHEMA, &sent);
}

fn generation(options: &str, body: Value) -> Value {
    let body = body.to_string();
    let request = build(
        &plan(RouteType::COMPLETIONS, MODEL, options),
        body.as_bytes(),
    );
    let sent = sent_body(&request, body.as_bytes());
    assert_hf_schema(GENERATION_INPUT_SCHEMA, &sent);
    sent
}

#[test]
fn completion_fields_map_to_generation_parameters() {
    let sent = generation(
        r#"{"huggingface":{"use_cache":true,"wait_for_model":true}}"#,
        json!({
            "prompt": ["Explain why you can't divide by zero?"], "max_tokens": 64,
            "temperature": 0.7, "top_p": 0.95, "top_k": 40, "stop": "\n\n", "seed": 42,
            "frequency_penalty": 0.5, "n": 1, "stream_options": null,
        }),
    );
    assert_eq!(sent["inputs"], "Explain why you can't divide by zero?");
    assert_eq!(
        sent["parameters"],
        json!({
            "temperature": 0.7, "do_sample": true, "top_p": 0.95, "top_k": 40, "seed": 42,
            "stop": ["\n\n"], "frequency_penalty": 0.5, "return_full_text": false,
            "max_new_tokens": 64, "details": true,
        })
    );
    assert_eq!(
        sent["options"],
        json!({"use_cache": true, "wait_for_model": true})
    );
}

#[test]
fn temperature_zero_is_greedy_and_top_p_one_is_no_filter() {
    let sent = generation(
        "{}",
        json!({"prompt": "x", "temperature": 0, "top_p": 0.5, "top_k": 3}),
    );
    assert_eq!(
        sent["parameters"],
        json!({"do_sample": false, "return_full_text": false, "details": true})
    );
    let sent = generation("{}", json!({"prompt": "x", "top_p": 1, "top_k": 0}));
    assert_eq!(
        sent["parameters"],
        json!({"return_full_text": false, "details": true})
    );
}

#[test]
fn configured_values_fill_in_and_the_max_tokens_cap_wins() {
    let options = r#"{"temperature":0.2,"top_k":10,"max_tokens":32}"#;
    let sent = generation(
        options,
        json!({"prompt": "x", "temperature": 0.9, "max_tokens": 500}),
    );
    assert_eq!(sent["parameters"]["temperature"], 0.9);
    assert_eq!(sent["parameters"]["top_k"], 10);
    assert_eq!(sent["parameters"]["max_new_tokens"], 32);
}

#[test]
fn the_clients_own_parameters_win_as_in_kong() {
    let sent = generation(
        r#"{"max_tokens":32}"#,
        json!({
            "prompt": "x", "temperature": 0.9,
            "parameters": {"temperature": 0.3, "repetition_penalty": 1.1, "max_new_tokens": 900,
                           "details": false, "return_full_text": true},
        }),
    );
    assert_eq!(
        sent["parameters"],
        json!({
            "temperature": 0.3, "repetition_penalty": 1.1, "max_new_tokens": 32,
            "details": true, "return_full_text": true, "do_sample": true,
        })
    );
}

#[test]
fn a_streamed_completion_streams_text_generation() {
    let body = fixture("huggingface/llm-v1-completions/requests/good.json");
    let request = build(
        &streamed(plan(RouteType::COMPLETIONS, MODEL, "{}"), true),
        &body,
    );
    assert_eq!(request.response_framing, Framing::SSE);
    let sent = sent_body(&request, &body);
    assert_eq!(sent["stream"], true);
    assert_hf_schema(GENERATION_INPUT_SCHEMA, &sent);
}

#[test]
fn completion_fields_text_generation_cannot_honour_are_400s() {
    let cases = [
        (
            r#"{"prompt":"x","echo":true,"logprobs":2}"#,
            "`echo`, `logprobs` are not supported by provider huggingface",
        ),
        (
            r#"{"prompt":"x","user":"u"}"#,
            "`user` is not supported by provider huggingface",
        ),
        (
            r#"{"prompt":"x","presence_penalty":1}"#,
            "`presence_penalty` is not supported by provider huggingface",
        ),
        (r#"{"prompt":"x","seed":-1}"#, "`seed` must not be negative"),
        (
            r#"{"prompt":"x","top_p":0}"#,
            "`top_p` must be greater than 0 for provider huggingface",
        ),
        (
            r#"{"prompt":"x","temperature":-1}"#,
            "`temperature` must not be negative",
        ),
        (
            r#"{"prompt":"x","parameters":[1]}"#,
            "`parameters` must be an object",
        ),
        (
            r#"{"prompt":["a","b"]}"#,
            "several prompts in one request are not supported by provider huggingface",
        ),
        (
            r#"{"prompt":[1,2]}"#,
            "prompts given as token ids are not supported by provider huggingface",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(refused(RouteType::COMPLETIONS, body), message, "{body}");
    }
    assert!(refused(RouteType::COMPLETIONS, r#"{"prompt":"x","n":2}"#)
        .starts_with("`n` greater than 1"));
}

#[test]
fn embeddings_go_to_feature_extraction() {
    let body = br#"{"model":"sentence-transformers/all-MiniLM-L6-v2","input":"The food was delicious","encoding_format":"base64"}"#;
    let model = "sentence-transformers/all-MiniLM-L6-v2";
    let request = build(&plan(RouteType::EMBEDDINGS, model, "{}"), body);
    assert_eq!(
        request.url.as_str(),
        "https://api-inference.huggingface.co/pipeline/feature-extraction/sentence-transformers/all-MiniLM-L6-v2"
    );
    assert_eq!(request.response_framing, Framing::JSON);
    assert_options_headers(&request, "false", "false");
    assert_eq!(
        sent_body(&request, body),
        json!({
            "inputs": ["The food was delicious"],
            "options": {"use_cache": false, "wait_for_model": false},
        })
    );
    let tei = r#"{"upstream_url":"http://tei:80/embed"}"#;
    let request = build(
        &plan(RouteType::EMBEDDINGS, model, tei),
        br#"{"input":["a","b"]}"#,
    );
    assert_eq!(request.url.as_str(), "http://tei:80/embed");
    assert_eq!(sent_body(&request, b"")["inputs"], json!(["a", "b"]));
}

#[test]
fn embeddings_fields_feature_extraction_cannot_honour_are_400s() {
    assert_eq!(
        refused(
            RouteType::EMBEDDINGS,
            r#"{"input":"x","dimensions":256,"user":"u"}"#
        ),
        "`dimensions`, `user` are not supported by provider huggingface"
    );
    assert_eq!(
        refused(RouteType::EMBEDDINGS, r#"{"input":[[1,2]]}"#),
        "inputs given as token ids are not supported by provider huggingface"
    );
}

#[test]
fn preserve_sends_the_clients_request_to_the_clients_path() {
    let mut preserve = plan(RouteType::PRESERVE, "", "{}");
    preserve.client_method = RStr::from_str("GET");
    preserve.client_path = RStr::from_str("/models/gpt2");
    let request = build(&preserve, b"");
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(
        request.url.as_str(),
        "https://api-inference.huggingface.co/models/gpt2"
    );
    assert!(request.body.is_none());
}

#[test]
fn model_ids_from_clients_cannot_steer_the_url() {
    for model in ["../../admin", "a/b/c", "m?x=1"] {
        let error = HuggingFace::build_request(
            &plan(RouteType::COMPLETIONS, model, "{}"),
            &ClientBody::new(br#"{"prompt":"x"}"#),
        )
        .unwrap_err();
        assert_eq!(error.status, 400);
        assert!(error.message.starts_with("model: "), "{error}");
    }
}
