//! Configuration errors: every problem found in a file, each with the path of the field at fault.

use std::fmt;

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where the problem is, written as a decK user reads it, e.g.
    /// `services[0].routes[1].plugins[0].config.model.provider`. Empty for problems that concern
    /// the file as a whole (unreadable file, invalid YAML, a missing environment variable).
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in a configuration file. Validation does not stop at the first one, so that
/// a user fixes them all in one round.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError::new(path, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The path of field `key` inside the record at `parent`.
pub(crate) fn field_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The path of element `index` of the array at `parent`.
pub(crate) fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_prints_one_error_per_line_with_its_path() {
        let mut errors = ConfigErrors::default();
        errors.push("services[0].host", "required field missing");
        errors.push("", "config.yaml: invalid YAML");
        assert_eq!(
            errors.to_string(),
            "services[0].host: required field missing\nconfig.yaml: invalid YAML"
        );
    }

    #[test]
    fn paths_join_fields_and_indexes() {
        assert_eq!(field_path("", "services"), "services");
        assert_eq!(field_path("services[0]", "routes"), "services[0].routes");
        assert_eq!(index_path("services", 3), "services[3]");
    }
}
