//! The INI dialect of the AWS shared files (`~/.aws/credentials`, `~/.aws/config`), as far as the
//! gateway reads them: `[section]` headers, `key = value` lines, and whole-line `#`/`;` comments.
//! Like botocore's parser (Python's `configparser`), keys are case-insensitive, section names are
//! not, and `#` or `;` after a value is part of the value. Indented lines under a key are nested
//! settings (`s3 =` followed by `  max_concurrent_requests = 10`), which no setting the gateway
//! reads uses, so they are skipped. Lines that fit none of these are skipped too: a credentials
//! file the gateway half understands should still yield the profile it can read.
//!
//! The values may be secrets, so the parsed file has no `Debug`.

use std::collections::HashMap;

pub struct Ini {
    sections: HashMap<String, HashMap<String, String>>,
}

impl Ini {
    pub fn parse(text: &str) -> Ini {
        let mut sections: HashMap<String, HashMap<String, String>> = HashMap::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                continue;
            }
            if let Some(name) = trimmed
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
            {
                let name = name.trim().to_string();
                sections.entry(name.clone()).or_default();
                current = Some(name);
                continue;
            }
            let (Some(section), Some((key, value))) = (&current, trimmed.split_once('=')) else {
                continue;
            };
            if let Some(values) = sections.get_mut(section) {
                values.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
            }
        }
        Ini { sections }
    }

    /// The value of `key` in `section`, when it is set and not empty.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections
            .get(section)?
            .get(&key.to_ascii_lowercase())
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    pub fn has_section(&self, section: &str) -> bool {
        self.sections.contains_key(section)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# leading comment
[default]
aws_access_key_id = AKIDDEFAULT
AWS_Secret_Access_Key=secret=with=equals
; another comment
region = us-east-1 # not a comment

[profile work]
region=eu-west-1
s3 =
  max_concurrent_requests = 10
  region = nested-not-read
empty =
this line has no equals sign
[ spaced ]
key = value
";

    #[test]
    fn reads_keys_case_insensitively_and_values_verbatim() {
        let ini = Ini::parse(FILE);
        assert_eq!(ini.get("default", "aws_access_key_id"), Some("AKIDDEFAULT"));
        assert_eq!(
            ini.get("default", "aws_secret_access_key"),
            Some("secret=with=equals")
        );
        assert_eq!(
            ini.get("default", "REGION"),
            Some("us-east-1 # not a comment")
        );
    }

    #[test]
    fn skips_nested_settings_comments_and_lines_it_does_not_know() {
        let ini = Ini::parse(FILE);
        assert_eq!(ini.get("profile work", "region"), Some("eu-west-1"));
        assert_eq!(ini.get("profile work", "max_concurrent_requests"), None);
        assert_eq!(
            ini.get("profile work", "this line has no equals sign"),
            None
        );
    }

    #[test]
    fn empty_values_and_missing_sections_read_as_unset() {
        let ini = Ini::parse(FILE);
        assert_eq!(ini.get("profile work", "empty"), None);
        assert_eq!(ini.get("nope", "region"), None);
        assert!(!ini.has_section("work"));
        assert!(ini.has_section("profile work"));
        assert_eq!(ini.get("spaced", "key"), Some("value"));
    }

    #[test]
    fn keys_before_any_section_belong_to_none() {
        let ini = Ini::parse("region = x\n[default]\n");
        assert_eq!(ini.get("default", "region"), None);
    }
}
