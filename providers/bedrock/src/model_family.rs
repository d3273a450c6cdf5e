//! Which vendor's model a Bedrock model id names, for the few things Converse leaves to the model:
//! how `top_k` is passed, and which body an embedding model takes.
//!
//! A model id is a base model (`anthropic.claude-3-5-haiku-20241022-v1:0`), a cross-region
//! inference profile (`us.amazon.nova-micro-v1:0`, `global.anthropic.…`), or an ARN of either
//! (`arn:aws:bedrock:…:inference-profile/us.anthropic.…`). An application inference profile's ARN
//! hides its model, and reads as [`Vendor::Other`].

/// The vendor segment of a model id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Anthropic,
    Amazon,
    Cohere,
    Other,
}

/// A model id split into its vendor and the model's own name (what follows the vendor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelFamily<'a> {
    pub vendor: Vendor,
    /// E.g. `nova-micro-v1:0`; the whole id when the vendor is not recognised.
    pub name: &'a str,
}

impl<'a> ModelFamily<'a> {
    pub fn of(model: &'a str) -> ModelFamily<'a> {
        let id = model.rsplit('/').next().unwrap_or(model);
        // The vendor is the first dot-separated segment, or the second after an inference
        // profile's geography (`us.`, `eu.`, `apac.`, `global.`).
        let mut segments = id.splitn(3, '.');
        let first = segments.next().unwrap_or_default();
        let second = segments.next().unwrap_or_default();
        let rest = segments.next().unwrap_or_default();
        for (vendor, name) in [(first, id.get(first.len() + 1..)), (second, Some(rest))] {
            let vendor = match vendor {
                "anthropic" => Vendor::Anthropic,
                "amazon" => Vendor::Amazon,
                "cohere" => Vendor::Cohere,
                _ => continue,
            };
            return ModelFamily {
                vendor,
                name: name.unwrap_or_default(),
            };
        }
        ModelFamily {
            vendor: Vendor::Other,
            name: id,
        }
    }

    pub fn is_amazon_nova(&self) -> bool {
        self.vendor == Vendor::Amazon && self.name.starts_with("nova")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendors_are_found_in_ids_profiles_and_arns() {
        let cases = [
            ("anthropic.claude-3-5-haiku-20241022-v1:0", Vendor::Anthropic, "claude-3-5-haiku-20241022-v1:0"),
            ("us.anthropic.claude-sonnet-4-20250514-v1:0", Vendor::Anthropic, "claude-sonnet-4-20250514-v1:0"),
            ("us.amazon.nova-micro-v1:0", Vendor::Amazon, "nova-micro-v1:0"),
            ("amazon.titan-embed-text-v2:0", Vendor::Amazon, "titan-embed-text-v2:0"),
            ("cohere.embed-english-v3", Vendor::Cohere, "embed-english-v3"),
            (
                "arn:aws:bedrock:us-west-2:123456789012:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0",
                Vendor::Anthropic,
                "claude-3-haiku-20240307-v1:0",
            ),
            (
                "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0",
                Vendor::Amazon,
                "nova-pro-v1:0",
            ),
            ("meta.llama3-1-8b-instruct-v1:0", Vendor::Other, "meta.llama3-1-8b-instruct-v1:0"),
            (
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
                Vendor::Other,
                "a1b2c3d4e5f6",
            ),
            ("amazon", Vendor::Amazon, ""),
            ("", Vendor::Other, ""),
        ];
        for (model, vendor, name) in cases {
            assert_eq!(
                ModelFamily::of(model),
                ModelFamily { vendor, name },
                "{model}"
            );
        }
        assert!(ModelFamily::of("us.amazon.nova-lite-v1:0").is_amazon_nova());
        assert!(!ModelFamily::of("amazon.titan-text-express-v1").is_amazon_nova());
    }
}
