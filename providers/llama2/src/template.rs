//! The Llama chat prompt formats, for servers that take one text prompt (`llama2_format: raw`).
//!
//! Both follow Meta's reference code (`llama/generation.py`, `llama3/chat_format.py`): every
//! message's text is trimmed, and every turn is kept, the assistant's included (Kong's template
//! drops assistant turns, so the model never sees its own earlier answers).
//!
//! - **Llama 2**: `<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s>`
//!   per exchange, then `<s>[INST] {user} [/INST]`. Llama 2 has one system prompt, inside the
//!   first instruction, so every system message goes there, joined by blank lines. Consecutive
//!   messages of one role are joined the same way, since the format alternates strictly.
//! - **Llama 3**: `<|begin_of_text|>`, then `<|start_header_id|>{role}<|end_header_id|>\n\n
//!   {text}<|eot_id|>` per message in order, then the assistant's header for the answer.
//!
//! A conversation that ends with an assistant message is a prefill: that message is left open
//! (no `</s>` or `<|eot_id|>`, no new header) for the model to continue.
//!
//! Which format: `llama2_chat_template` (`llama2` or `llama3`) when set, else the model's name
//! (`llama3`, `llama-3` or `llama_3` in any case means Llama 3), else Llama 2.

use std::borrow::Cow;

/// The option that picks the format whatever the model is called.
pub const TEMPLATE_OPTION: &str = "llama2_chat_template";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatTemplate {
    Llama2,
    Llama3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    System,
    User,
    Assistant,
}

/// One message as the template reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn<'a> {
    pub speaker: Speaker,
    pub text: Cow<'a, str>,
}

impl ChatTemplate {
    /// The value of [`TEMPLATE_OPTION`].
    pub fn named(name: &str) -> Option<ChatTemplate> {
        match name {
            "llama2" => Some(ChatTemplate::Llama2),
            "llama3" => Some(ChatTemplate::Llama3),
            _ => None,
        }
    }

    /// The configured format, else the one the model's name says.
    pub fn for_model(model: &str, configured: Option<ChatTemplate>) -> ChatTemplate {
        if let Some(template) = configured {
            return template;
        }
        let name = model.to_ascii_lowercase();
        if ["llama3", "llama-3", "llama_3"]
            .iter()
            .any(|family| name.contains(family))
        {
            ChatTemplate::Llama3
        } else {
            ChatTemplate::Llama2
        }
    }

    /// The text that closes the prompt. A server that echoes the prompt before its answer puts
    /// the answer after the last one of these.
    pub fn answer_marker(self) -> &'static str {
        match self {
            ChatTemplate::Llama2 => "[/INST]",
            ChatTemplate::Llama3 => "<|end_header_id|>",
        }
    }

    pub fn render(self, turns: &[Turn<'_>]) -> String {
        match self {
            ChatTemplate::Llama2 => llama2(turns),
            ChatTemplate::Llama3 => llama3(turns),
        }
    }
}

fn llama2(turns: &[Turn<'_>]) -> String {
    let system = joined(
        turns
            .iter()
            .filter(|t| t.speaker == Speaker::System)
            .map(|t| t.text.as_ref()),
    );
    let mut system_block = (!system.is_empty()).then(|| format!("<<SYS>>\n{system}\n<</SYS>>\n\n"));
    let dialog = merged(turns.iter().filter(|t| t.speaker != Speaker::System));
    let mut prompt = String::with_capacity(turns.iter().map(|t| t.text.len() + 24).sum());
    let mut instruction = |prompt: &mut String, user: &str| {
        let content = format!("{}{user}", system_block.take().unwrap_or_default());
        prompt.push_str("<s>[INST] ");
        prompt.push_str(content.trim());
        prompt.push_str(" [/INST]");
    };
    let mut pending_user: Option<&str> = None;
    for (index, (speaker, text)) in dialog.iter().enumerate() {
        match speaker {
            Speaker::User => pending_user = Some(text),
            _ => {
                instruction(&mut prompt, pending_user.take().unwrap_or_default());
                prompt.push(' ');
                prompt.push_str(text.trim());
                if index + 1 < dialog.len() {
                    prompt.push_str(" </s>");
                }
            }
        }
    }
    if pending_user.is_some() || prompt.is_empty() {
        instruction(&mut prompt, pending_user.unwrap_or_default());
    }
    prompt
}

fn llama3(turns: &[Turn<'_>]) -> String {
    let mut prompt = String::with_capacity(turns.iter().map(|t| t.text.len() + 48).sum());
    prompt.push_str("<|begin_of_text|>");
    for (index, turn) in turns.iter().enumerate() {
        push_llama3_header(&mut prompt, turn.speaker);
        prompt.push_str(turn.text.trim());
        let is_prefill = turn.speaker == Speaker::Assistant && index + 1 == turns.len();
        if is_prefill {
            return prompt;
        }
        prompt.push_str("<|eot_id|>");
    }
    push_llama3_header(&mut prompt, Speaker::Assistant);
    prompt
}

fn push_llama3_header(prompt: &mut String, speaker: Speaker) {
    prompt.push_str("<|start_header_id|>");
    prompt.push_str(match speaker {
        Speaker::System => "system",
        Speaker::User => "user",
        Speaker::Assistant => "assistant",
    });
    prompt.push_str("<|end_header_id|>\n\n");
}

/// Texts joined by blank lines, each trimmed, empty ones left out.
fn joined<'t>(texts: impl Iterator<Item = &'t str>) -> String {
    texts
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Consecutive turns of one speaker as one.
fn merged<'t>(turns: impl Iterator<Item = &'t Turn<'t>>) -> Vec<(Speaker, String)> {
    let mut out: Vec<(Speaker, Vec<&str>)> = Vec::new();
    for turn in turns {
        match out.last_mut() {
            Some((speaker, texts)) if *speaker == turn.speaker => texts.push(&turn.text),
            _ => out.push((turn.speaker, vec![&turn.text])),
        }
    }
    out.into_iter()
        .map(|(speaker, texts)| (speaker, joined(texts.into_iter())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(speaker: Speaker, text: &str) -> Turn<'_> {
        Turn {
            speaker,
            text: Cow::Borrowed(text),
        }
    }

    /// Kong's unit chat: a system prompt, then user, assistant, user, assistant, user.
    fn kong_unit_chat() -> Vec<Turn<'static>> {
        vec![
            turn(Speaker::System, "You are a mathematician."),
            turn(Speaker::User, "What is 1 + 2?"),
            turn(Speaker::Assistant, "The sum of 1 + 2 is 3."),
            turn(Speaker::User, "Multiply that by 2"),
            turn(Speaker::Assistant, "Certainly! The result is 6."),
            turn(Speaker::User, "Why can't you divide by zero?"),
        ]
    }

    #[test]
    fn llama2_keeps_every_turn_with_the_system_prompt_in_the_first_instruction() {
        assert_eq!(
            ChatTemplate::Llama2.render(&kong_unit_chat()),
            "<s>[INST] <<SYS>>\nYou are a mathematician.\n<</SYS>>\n\nWhat is 1 + 2? [/INST] \
             The sum of 1 + 2 is 3. </s>\
             <s>[INST] Multiply that by 2 [/INST] Certainly! The result is 6. </s>\
             <s>[INST] Why can't you divide by zero? [/INST]"
        );
    }

    #[test]
    fn llama3_keeps_every_message_in_order_and_opens_the_answer() {
        assert_eq!(
            ChatTemplate::Llama3.render(&kong_unit_chat()),
            "<|begin_of_text|>\
             <|start_header_id|>system<|end_header_id|>\n\nYou are a mathematician.<|eot_id|>\
             <|start_header_id|>user<|end_header_id|>\n\nWhat is 1 + 2?<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\nThe sum of 1 + 2 is 3.<|eot_id|>\
             <|start_header_id|>user<|end_header_id|>\n\nMultiply that by 2<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\nCertainly! The result is 6.<|eot_id|>\
             <|start_header_id|>user<|end_header_id|>\n\nWhy can't you divide by zero?<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\n"
        );
    }

    #[test]
    fn llama2_gathers_later_system_messages_and_joins_repeated_speakers() {
        // Kong's raw chat fixture: system, user, system, user.
        let turns = vec![
            turn(Speaker::System, "You are a video game knowledgebase."),
            turn(Speaker::User, "What is Missingno.?"),
            turn(
                Speaker::System,
                "Missingno. is a weird character from a popular game.",
            ),
            turn(Speaker::User, " Why is it popular? "),
        ];
        assert_eq!(
            ChatTemplate::Llama2.render(&turns),
            "<s>[INST] <<SYS>>\nYou are a video game knowledgebase.\n\n\
             Missingno. is a weird character from a popular game.\n<</SYS>>\n\n\
             What is Missingno.?\n\nWhy is it popular? [/INST]"
        );
    }

    #[test]
    fn a_last_assistant_message_is_left_open_for_the_model_to_continue() {
        let turns = vec![
            turn(Speaker::User, "Name a colour."),
            turn(Speaker::Assistant, "The colour is"),
        ];
        assert_eq!(
            ChatTemplate::Llama2.render(&turns),
            "<s>[INST] Name a colour. [/INST] The colour is"
        );
        assert_eq!(
            ChatTemplate::Llama3.render(&turns),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nName a colour.<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\nThe colour is"
        );
    }

    #[test]
    fn a_lone_system_prompt_is_still_an_instruction() {
        let turns = vec![turn(Speaker::System, "Say hi.")];
        assert_eq!(
            ChatTemplate::Llama2.render(&turns),
            "<s>[INST] <<SYS>>\nSay hi.\n<</SYS>> [/INST]"
        );
        assert_eq!(ChatTemplate::Llama2.render(&[]), "<s>[INST]  [/INST]");
    }

    #[test]
    fn the_model_name_picks_the_format_unless_configured() {
        for model in [
            "meta-llama/Meta-Llama-3-8B-Instruct",
            "llama3.2:1b",
            "Llama-3.1-70B",
            "LLAMA_3",
        ] {
            assert_eq!(
                ChatTemplate::for_model(model, None),
                ChatTemplate::Llama3,
                "{model}"
            );
        }
        for model in ["meta-llama/Llama-2-7b-chat-hf", "llama2", "codellama", ""] {
            assert_eq!(
                ChatTemplate::for_model(model, None),
                ChatTemplate::Llama2,
                "{model}"
            );
        }
        assert_eq!(
            ChatTemplate::for_model("llama3.2", Some(ChatTemplate::Llama2)),
            ChatTemplate::Llama2
        );
        assert_eq!(ChatTemplate::named("llama3"), Some(ChatTemplate::Llama3));
        assert_eq!(ChatTemplate::named("Llama-3"), None);
    }
}
