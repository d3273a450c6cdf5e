//! `llama2_format: raw`: Llama chat templates in TGI's `inputs`, TGI's parameters, and TGI's
//! replies, against Kong's fixtures and TGI's published input schema.

use ai_provider_llama2::Llama2;
use provider_sdk::abi::{Framing, RouteType};
use provider_sdk::Provider;
use serde_json::{json, Value};
use spec_check::assert_json_schema;

use crate::common::{build, fixture, json, plan, refused, sent_body, streamed, RAW};

const TGI_INPUT: &str = "huggingface/text-generation/input.json";

/// Kong's unit test options for every driver.
const KONG_UNIT_OPTIONS: &str = r#"{"llama2_format":"raw","upstream_url":"http://tgi:8080/","max_tokens":512,"temperature":0.5,"top_p":1,"top_k":40}"#;

/// The TGI body for `client`, checked against TGI's input schema.
fn tgi_body(plan: &provider_sdk::abi::RequestPlan<'_>, client: &[u8]) -> Value {
    let sent = sent_body(&build(plan, client), client);
    assert_json_schema(TGI_INPUT, &sent);
    sent
}

fn parse(route_type: RouteType, model: &str, status: u16, body: &[u8]) -> (u16, Value) {
    let response =
        Llama2::parse_response(&plan(route_type, model, RAW), status, &[], body).unwrap();
    let body = json(response.body.as_ref().unwrap().as_slice());
    (response.status, body)
}

#[test]
fn kong_unit_chat_keeps_the_assistant_turns_kong_drops() {
    let client = fixture("unit/requests/llm-v1-chat.json");
    let sent = tgi_body(
        &plan(RouteType::CHAT, "llama-2-7b-chat", KONG_UNIT_OPTIONS),
        &client,
    );
    let kong = json(&fixture(
        "unit/expected-requests/llama2/raw/llm-v1-chat.json",
    ));
    // Kong's bug: its template leaves out both assistant answers, so the model never sees what
    // it said. Meta's Llama 2 format keeps every exchange.
    assert_ne!(sent["inputs"], kong["inputs"]);
    assert_eq!(
        sent["inputs"],
        "<s>[INST] <<SYS>>\nYou are a mathematician.\n<</SYS>>\n\nWhat is 1 + 2? [/INST] \
         The sum of 1 + 2 is 3. If you have any more math questions or if there's anything else I can help you with, feel free to ask! </s>\
         <s>[INST] Multiply that by 2 [/INST] \
         Certainly! If you multiply 3 by 2, the result is 6. If you have any more questions or if there's anything else I can help you with, feel free to ask! </s>\
         <s>[INST] Why can't you divide by zero? [/INST]"
    );
    // Kong's values, except `top_p: 1`, which TGI refuses (it wants 0 < top_p < 1) and which
    // means no nucleus filtering, so it is left out; and `stream`, which TGI reads at the top.
    assert_eq!(
        sent["parameters"],
        json!({"max_new_tokens": 512, "temperature": 0.5, "top_k": 40, "details": true, "return_full_text": false})
    );
    assert_eq!(kong["parameters"]["top_p"], 1);
    assert_eq!(sent["stream"], false);
}

#[test]
fn a_llama3_model_gets_the_llama3_template_unless_configured_otherwise() {
    let client = fixture("llama2/raw/requests/good-chat.json");
    let sent = tgi_body(
        &plan(RouteType::CHAT, "meta-llama/Meta-Llama-3-8B-Instruct", RAW),
        &client,
    );
    assert_eq!(
        sent["inputs"],
        "<|begin_of_text|>\
         <|start_header_id|>system<|end_header_id|>\n\nYou are a video game knowledgebase.<|eot_id|>\
         <|start_header_id|>user<|end_header_id|>\n\nWhat is Missingno.?<|eot_id|>\
         <|start_header_id|>system<|end_header_id|>\n\nMissingno. is a weird character from a popular game.<|eot_id|>\
         <|start_header_id|>user<|end_header_id|>\n\nWhy is it popular?<|eot_id|>\
         <|start_header_id|>assistant<|end_header_id|>\n\n"
    );
    let forced = r#"{"llama2_format":"raw","upstream_url":"http://tgi:8080/","llama2_chat_template":"llama2"}"#;
    let sent = tgi_body(
        &plan(
            RouteType::CHAT,
            "meta-llama/Meta-Llama-3-8B-Instruct",
            forced,
        ),
        &client,
    );
    assert_eq!(
        sent["inputs"],
        "<s>[INST] <<SYS>>\nYou are a video game knowledgebase.\n\n\
         Missingno. is a weird character from a popular game.\n<</SYS>>\n\n\
         What is Missingno.?\n\nWhy is it popular? [/INST]"
    );
}

#[test]
fn kong_completions_send_the_prompt_as_written() {
    let client = fixture("unit/requests/llm-v1-completions.json");
    let sent = tgi_body(
        &plan(RouteType::COMPLETIONS, "llama2", KONG_UNIT_OPTIONS),
        &client,
    );
    let kong = json(&fixture(
        "unit/expected-requests/llama2/raw/llm-v1-completions.json",
    ));
    // Kong wraps a completion prompt in a Llama 2 system block it never closes (`<<SYS>>` twice)
    // with a system prompt the client did not send. A completion continues the text it is given.
    assert_eq!(
        kong["inputs"],
        "<s> [INST] <<SYS>> You are a helpful assistant. <<SYS>> Explain why you can't divide by zero? [/INST]"
    );
    assert_eq!(sent["inputs"], "Explain why you can't divide by zero?");
    assert_eq!(sent["parameters"]["max_new_tokens"], 512);
    let good = fixture("llama2/raw/requests/good-completions.json");
    assert_eq!(
        tgi_body(&plan(RouteType::COMPLETIONS, "llama2", RAW), &good)["inputs"],
        "What is Missingno.?"
    );
}

#[test]
fn sampling_values_tgi_refuses_are_left_out_and_the_rest_kept() {
    let body = json!({
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0, "top_p": 0.95, "top_k": 0, "seed": 42, "stop": ["</s>", "User:"],
        "max_completion_tokens": 64, "stream": true, "stream_options": {"include_usage": true},
    });
    let client = serde_json::to_vec(&body).unwrap();
    let request = build(&streamed(RouteType::CHAT, "llama2", RAW, true), &client);
    assert_eq!(request.url.as_str(), "http://tgi:8080/");
    assert_eq!(request.response_framing, Framing::SSE);
    let sent = sent_body(&request, &client);
    assert_json_schema(TGI_INPUT, &sent);
    assert_eq!(
        sent["parameters"],
        json!({"max_new_tokens": 64, "top_p": 0.95, "seed": 42, "stop": ["</s>", "User:"], "details": true, "return_full_text": false})
    );
    assert_eq!(sent["stream"], true);
    assert_eq!(
        refused(
            &plan(RouteType::CHAT, "llama2", RAW),
            &json!({"messages": [{"role": "user", "content": "hi"}], "seed": -1})
        ),
        "seed: must not be negative for provider llama2 (llama2_format raw)"
    );
}

#[test]
fn json_modes_become_a_grammar() {
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
    for (format, grammar) in [
        (
            json!({"type": "json_object"}),
            json!({"type": "json", "value": {"type": "object"}}),
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}),
            json!({"type": "json", "value": schema}),
        ),
    ] {
        let client = serde_json::to_vec(
            &json!({"messages": [{"role": "user", "content": "hi"}], "response_format": format}),
        )
        .unwrap();
        let sent = tgi_body(&plan(RouteType::CHAT, "llama2", RAW), &client);
        assert_eq!(sent["parameters"]["grammar"], grammar);
    }
}

#[test]
fn what_a_text_prompt_cannot_carry_is_a_400() {
    let chat = plan(RouteType::CHAT, "llama2", RAW);
    let tools = json!([{"type": "function", "function": {"name": "add"}}]);
    let tools_message = "tools, tool calls and tool results are not supported by provider llama2 with llama2_format raw: use llama2_format ollama or openai";
    for body in [
        json!({"messages": [{"role": "user", "content": "hi"}], "tools": tools}),
        json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "add", "arguments": "{}"}}]}]}),
        json!({"messages": [{"role": "tool", "tool_call_id": "c", "content": "3"}]}),
    ] {
        assert_eq!(refused(&chat, &body), tools_message, "{body}");
    }
    assert_eq!(
        refused(&chat, &json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]})),
        "content parts of type `image_url` are not supported by provider llama2 (llama2_format raw)"
    );
    assert_eq!(
        refused(
            &chat,
            &json!({"messages": [{"role": "user", "content": "hi"}], "logprobs": true})
        ),
        "`logprobs` is not supported by provider llama2 (llama2_format raw)"
    );
    assert_eq!(
        refused(
            &chat,
            &json!({"messages": [{"role": "user", "content": "hi"}], "n": 3})
        ),
        "`n` other than 1 is not supported by provider llama2 (llama2_format raw)"
    );
}

#[test]
fn kong_unit_replies_give_the_answer_after_the_echoed_prompt() {
    for (route_type, file) in [
        (RouteType::CHAT, "llm-v1-chat.json"),
        (RouteType::COMPLETIONS, "llm-v1-completions.json"),
    ] {
        let reply = fixture(&format!("unit/real-responses/llama2/raw/{file}"));
        let (status, body) = parse(route_type, "llama2", 200, &reply);
        assert_eq!(status, 200);
        let expected = json(&fixture(&format!(
            "unit/expected-responses/llama2/raw/{file}"
        )));
        let choice = &body["choices"][0];
        if route_type == RouteType::CHAT {
            assert_eq!(
                choice["message"]["content"],
                expected["choices"][0]["message"]["content"]
            );
            assert_eq!(choice["message"]["role"], "assistant");
            assert_eq!(body["object"], "chat.completion");
        } else {
            assert_eq!(choice["text"], expected["choices"][0]["text"]);
            assert_eq!(body["object"], "text_completion");
        }
        // TGI said nothing about why it stopped or how many tokens: a normal end, and usage
        // written as an object of zeros (Kong leaves both out).
        assert_eq!(choice["finish_reason"], "stop");
        assert_eq!(
            body["usage"],
            json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
        );
        assert_eq!(body["model"], "llama2");
    }
}

#[test]
fn kong_integration_fixtures() {
    let (_, body) = parse(
        RouteType::CHAT,
        "llama2",
        200,
        &fixture("llama2/raw/responses/good.json"),
    );
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Is a well known font."
    );
    let (_, body) = parse(
        RouteType::CHAT,
        "llama2",
        200,
        &fixture("llama2/request-transformer/response-in-json.json"),
    );
    let content: Value =
        serde_json::from_str(body["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["persons"][1]["age"], 84);
    for (status, file, message) in [
        (400, "bad_request.json", "some error"),
        (
            401,
            "unauthorized.json",
            "Model requires a Pro subscription.",
        ),
    ] {
        let (got, body) = parse(
            RouteType::CHAT,
            "llama2",
            status,
            &fixture(&format!("llama2/raw/responses/{file}")),
        );
        assert_eq!(got, status);
        assert_eq!(body["error"]["message"], message);
    }
}

#[test]
fn tgi_details_give_the_finish_reason_and_the_counts() {
    let reply = br#"[{"generated_text":" Paris is the capital.","details":{"finish_reason":"length","generated_tokens":6,"seed":null,"prefill":[{"id":1,"text":"<s>","logprob":null},{"id":2,"text":"x","logprob":-1.5}],"tokens":[]}}]"#;
    let (_, body) = parse(RouteType::CHAT, "llama2", 200, reply);
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Paris is the capital."
    );
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 2, "completion_tokens": 6, "total_tokens": 8})
    );

    let generate = br#"{"generated_text":" Paris","details":{"finish_reason":"eos_token","generated_tokens":2,"prefill":[],"tokens":[]}}"#;
    let response = Llama2::parse_response(
        &plan(RouteType::COMPLETIONS, "llama2", RAW),
        200,
        &[],
        generate,
    )
    .unwrap();
    let body = json(response.body.as_ref().unwrap().as_slice());
    assert_eq!(
        body["choices"][0]["text"], " Paris",
        "a completion is kept as generated"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        response.meta.usage.prompt_tokens,
        None.into(),
        "no prefill listed: not reported"
    );
    assert_eq!(response.meta.usage.completion_tokens, Some(2).into());
}

#[test]
fn replies_that_are_not_tgis_are_502s() {
    for reply in [
        &b"[]"[..],
        b"{}",
        b"{\"error\":\"overloaded\"}",
        b"<html>",
        b"\"text\"",
    ] {
        let error = Llama2::parse_response(&plan(RouteType::CHAT, "llama2", RAW), 200, &[], reply)
            .unwrap_err();
        assert_eq!(error.status, 502, "{}", String::from_utf8_lossy(reply));
        assert!(
            error
                .message
                .starts_with("transformation failed from type llama2://llm/v1/chat: "),
            "{error}"
        );
    }
}

#[test]
fn preserve_sends_the_clients_request_to_the_clients_path() {
    let mut preserve = plan(RouteType::PRESERVE, "", RAW);
    preserve.client_path = abi_stable::std_types::RStr::from_str("/generate_stream");
    let request = build(&preserve, b"{\"inputs\":\"x\"}");
    assert_eq!(request.url.as_str(), "http://tgi:8080/generate_stream");
    assert!(request.body.is_none());
    let meta = Llama2::native_metadata(&preserve, 200, br#"{"generated_text":"y","details":{"finish_reason":"length","generated_tokens":3,"prefill":[],"tokens":[]}}"#).unwrap();
    assert_eq!(meta.usage.completion_tokens, Some(3).into());
}
