//! Reading client JSON: strings borrowed from the body they were read from, unless they had
//! escapes to decode (serde's own `Cow<str>` always copies, and `Option<Cow<str>>` even under
//! `#[serde(borrow)]`), and serde's errors in words a client can act on.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, Visitor};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BorrowedText<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for BorrowedText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(BorrowedTextVisitor(std::marker::PhantomData))
    }
}

struct BorrowedTextVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for BorrowedTextVisitor<'a> {
    type Value = BorrowedText<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(BorrowedText(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(BorrowedText(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(BorrowedText(Cow::Owned(v)))
    }
}

/// serde_json's message without its " at line L column C" suffix, which means nothing to a
/// client that sent one line of JSON.
pub fn error_message(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    message
        .strip_suffix(&position)
        .map_or_else(|| message.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_strings_are_borrowed_and_escaped_ones_decoded() {
        let plain: BorrowedText<'_> = serde_json::from_str(r#""gemini""#).unwrap();
        assert!(matches!(plain.0, Cow::Borrowed("gemini")));
        let escaped: BorrowedText<'_> = serde_json::from_str(r#""a\nb""#).unwrap();
        assert_eq!(escaped.0, "a\nb");
        assert!(serde_json::from_str::<BorrowedText<'_>>("5").is_err());
    }

    #[test]
    fn error_messages_leave_out_the_position() {
        let error = serde_json::from_str::<BorrowedText<'_>>("5").unwrap_err();
        assert_eq!(
            error_message(&error),
            "invalid type: integer `5`, expected a string"
        );
    }
}
