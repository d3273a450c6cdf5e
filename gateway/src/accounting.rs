//! The arithmetic of metering: the token counts a response is charged with, its cost, and the
//! latency figures derived from its timings. One place, so that the route statistics, the span,
//! the metrics and the analytics record all carry the same numbers.

use std::time::Duration;

use provider_sdk::abi::Usage;

use crate::estimate::estimate_tokens;

/// Token counts as the gateway charges them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
    /// Prompt tokens served from the provider's cache, when it says (included in `prompt`).
    pub cached: Option<u64>,
    /// Whether a count was estimated because the provider did not report it.
    pub estimated: bool,
}

/// Text the gateway may estimate a count from, in characters, when the provider reports none.
/// `None` where no estimate applies: an error response, an embeddings response (it generates no
/// tokens), or a `preserve` body whose shape the gateway does not know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EstimateFrom {
    pub prompt_chars: Option<u64>,
    pub completion_chars: Option<u64>,
}

/// The counts to charge: the provider's wherever it reported them (streamed usage comes from the
/// provider's own usage event, taken once from the translator's final meta, so it is never added
/// twice); an estimate only for a count it did not report, and then marked as estimated. The
/// total is the provider's when it reported one and nothing was estimated, else the sum.
pub fn settle(usage: &Usage, from: EstimateFrom) -> Tokens {
    let mut estimated = false;
    let mut count = |reported: Option<u64>, chars: Option<u64>| match (reported, chars) {
        (Some(n), _) => n,
        (None, Some(chars)) => {
            estimated = true;
            estimate_tokens(chars)
        }
        (None, None) => 0,
    };
    let prompt = count(usage.prompt_tokens.into_option(), from.prompt_chars);
    let completion = count(usage.completion_tokens.into_option(), from.completion_chars);
    let total = match usage.total_tokens.into_option() {
        Some(total) if !estimated => total,
        _ => prompt + completion,
    };
    Tokens {
        prompt,
        completion,
        total,
        cached: usage.cached_tokens.into_option(),
        estimated,
    }
}

/// Kong's cost formula: costs are per million tokens, and there is a cost only when both the
/// input and the output cost are configured.
pub fn cost_of(prompt: u64, completion: u64, costs: Option<(f64, f64)>) -> f64 {
    match costs {
        Some((input, output)) => (prompt as f64 * input + completion as f64 * output) / 1e6,
        None => 0.0,
    }
}

/// Kong's `time_per_token`: the call's latency in milliseconds over the completion tokens; 0 when
/// there are none.
pub fn time_per_token_ms(latency_ms: u64, completion: u64) -> f64 {
    if completion == 0 {
        0.0
    } else {
        latency_ms as f64 / completion as f64
    }
}

/// The semantic conventions' time per output token: the time after the first token over the
/// tokens after the first. Only defined for a stream (where the first token's time is known)
/// that produced at least two tokens.
pub fn time_per_output_token(
    duration: Duration,
    ttft: Option<Duration>,
    completion: u64,
) -> Option<Duration> {
    let ttft = ttft?;
    let after_first = u32::try_from(completion.checked_sub(1)?).ok()?;
    if after_first == 0 {
        return None;
    }
    Some(duration.saturating_sub(ttft) / after_first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::ROption::{RNone, RSome};

    fn usage(prompt: Option<u64>, completion: Option<u64>, total: Option<u64>) -> Usage {
        Usage {
            prompt_tokens: prompt.into(),
            completion_tokens: completion.into(),
            total_tokens: total.into(),
            cached_tokens: RNone,
        }
    }

    #[test]
    fn kong_worked_examples_of_cost() {
        let cost = cost_of(25, 12, Some((10.0, 10.0)));
        assert!((cost - 0.00037).abs() < 1e-12, "{cost}");
        let stream = cost_of(18, 13, Some((10.0, 10.0)));
        assert!((stream - 0.00031).abs() < 1e-12, "{stream}");
        let gemini = cost_of(2, 11, Some((15.0, 15.0)));
        assert!((gemini - 0.000195).abs() < 1e-12, "{gemini}");
        assert_eq!(cost_of(25, 12, None), 0.0);
    }

    #[test]
    fn reported_usage_is_charged_as_reported() {
        let mut reported = usage(Some(10), Some(5), Some(16));
        reported.cached_tokens = RSome(4);
        let estimate = EstimateFrom {
            prompt_chars: Some(400),
            completion_chars: Some(400),
        };
        assert_eq!(
            settle(&reported, estimate),
            Tokens {
                prompt: 10,
                completion: 5,
                total: 16,
                cached: Some(4),
                estimated: false,
            }
        );
        let no_total = settle(&usage(Some(10), Some(5), None), estimate);
        assert_eq!((no_total.total, no_total.estimated), (15, false));
    }

    #[test]
    fn a_missing_count_is_estimated_and_marked() {
        let from = EstimateFrom {
            prompt_chars: Some(41),
            completion_chars: Some(25),
        };
        // ceil(41 / 4) = 11 and ceil(25 / 4) = 7; the provider's total no longer adds up.
        let tokens = settle(&usage(None, Some(3), Some(99)), from);
        assert_eq!(
            (tokens.prompt, tokens.completion, tokens.total),
            (11, 3, 14)
        );
        assert!(tokens.estimated);
        let both = settle(&Usage::default(), from);
        assert_eq!((both.prompt, both.completion, both.total), (11, 7, 18));
        assert!(both.estimated);
    }

    #[test]
    fn nothing_is_estimated_where_no_estimate_applies() {
        let tokens = settle(
            &usage(Some(8), None, Some(8)),
            EstimateFrom {
                prompt_chars: Some(100),
                completion_chars: None,
            },
        );
        assert_eq!(
            (
                tokens.prompt,
                tokens.completion,
                tokens.total,
                tokens.estimated
            ),
            (8, 0, 8, false)
        );
    }

    /// The OpenAI and Azure modules relay streams with provider-sdk's `stream_relay` (Azure names
    /// its empty objects); the usage the gateway charges is the provider's usage event, read once
    /// from the relay's meta at the end, however the stream was cut into chunks.
    #[test]
    fn streamed_usage_of_the_openai_and_azure_relays_is_counted_once() {
        use crate::estimate::{text_chars, GENERATED_KEYS};
        use abi_stable::std_types::{RSlice, RStr};
        use provider_sdk::abi::{RequestPlan, RouteType};
        use provider_sdk::openai_compatible::stream_relay;
        use provider_sdk::StreamTranslate;

        let plan = RequestPlan {
            route_type: RouteType::CHAT,
            model: RStr::from_str("gpt-4o"),
            options: RStr::from_str("{}"),
            stream: true,
            client_wants_usage: false,
            client_method: RStr::from_str("POST"),
            client_path: RStr::from_str("/chat"),
            client_query: RStr::from_str(""),
            client_headers: RSlice::from_slice(&[]),
        };
        let events = [
            r#"{"id":"c","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
            r#"{"id":"c","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"The answer"}}]}"#,
            r#"{"id":"c","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"content":" is 2."},"finish_reason":"stop"}]}"#,
            r#"{"id":"c","object":"chat.completion.chunk","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":25,"completion_tokens":12,"total_tokens":37}}"#,
        ];
        let stream = |with_usage: bool| {
            let n = if with_usage { 4 } else { 3 };
            let mut text: String = events[..n]
                .iter()
                .map(|e| format!("data: {e}\n\n"))
                .collect();
            text.push_str("data: [DONE]\n\n");
            text.into_bytes()
        };
        // What each module's `new_stream_translator` returns.
        let relay = |provider: &str| -> Box<dyn StreamTranslate> {
            match provider {
                "azure" => {
                    Box::new(stream_relay(&plan).naming_empty_objects("chat.completion.chunk"))
                }
                _ => Box::new(stream_relay(&plan)),
            }
        };
        for provider in ["openai", "azure"] {
            for with_usage in [true, false] {
                let bytes = stream(with_usage);
                // Cut everywhere, one byte at a time, the worst split.
                let mut translator = relay(provider);
                let mut generated = 0;
                for byte in bytes.chunks(1) {
                    generated += text_chars(&translator.push(byte).unwrap(), &GENERATED_KEYS);
                }
                generated += text_chars(&translator.finish().unwrap(), &GENERATED_KEYS);
                let tokens = settle(
                    &translator.meta().usage,
                    EstimateFrom {
                        prompt_chars: Some(42),
                        completion_chars: Some(generated),
                    },
                );
                let expected = if with_usage {
                    (25, 12, 37, false)
                } else {
                    (11, 4, 15, true)
                };
                assert_eq!(
                    (
                        tokens.prompt,
                        tokens.completion,
                        tokens.total,
                        tokens.estimated
                    ),
                    expected,
                    "{provider}, usage event {with_usage}"
                );
            }
        }
    }

    #[test]
    fn time_per_token_follows_kong() {
        assert_eq!(time_per_token_ms(1234, 12), 1234.0 / 12.0);
        assert_eq!(time_per_token_ms(1234, 0), 0.0);
    }

    #[test]
    fn time_per_output_token_counts_only_tokens_after_the_first() {
        let tpot = time_per_output_token(
            Duration::from_millis(1_100),
            Some(Duration::from_millis(100)),
            11,
        );
        assert_eq!(tpot, Some(Duration::from_millis(100)));
        assert_eq!(
            time_per_output_token(Duration::from_secs(1), None, 11),
            None
        );
        assert_eq!(
            time_per_output_token(Duration::from_secs(1), Some(Duration::ZERO), 1),
            None
        );
        assert_eq!(
            time_per_output_token(Duration::from_secs(1), Some(Duration::ZERO), 0),
            None
        );
    }
}
