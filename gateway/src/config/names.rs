//! Names of services and routes, which Kong restricts to a safe character set.

/// Kong's `utf8_name` rule: letters and digits of any script, and `.`, `-`, `_`, `~`.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '~');
    if !name.is_empty() && name.chars().all(allowed) {
        Ok(())
    } else {
        Err(format!(
            "invalid value '{name}': it must only contain alphanumeric and '., -, _, ~' characters"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_allow_letters_digits_and_four_marks() {
        assert!(check_name("openai-route_1.v2~x").is_ok());
        assert!(check_name("модель").is_ok());
        assert_eq!(
            check_name("my route").unwrap_err(),
            "invalid value 'my route': it must only contain alphanumeric and '., -, _, ~' characters"
        );
        assert!(check_name("").is_err());
    }
}
