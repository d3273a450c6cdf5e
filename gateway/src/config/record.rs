//! Field-by-field reading of a decK record (a YAML mapping), with Kong's schema messages.
//!
//! Each reader reports what is wrong to the shared error list and carries on, so that one pass
//! finds every problem in a file. A missing field and a `null` field are the same thing, as in
//! Kong's declarative loader.

use serde_json::{Map, Value};

use super::error::{field_path, index_path, ConfigErrors};

/// The fields a record may hold.
pub(crate) struct Fields {
    /// Fields this gateway reads or accepts.
    pub known: &'static [&'static str],
    /// Fields Kong has but this gateway does not implement. They get their own message so that a
    /// user does not think they misspelled a field.
    pub unsupported: &'static [&'static str],
}

pub(crate) const UNKNOWN_FIELD: &str = "unknown field";
pub(crate) const REQUIRED_FIELD: &str = "required field missing";
const UNSUPPORTED_FIELD: &str = "field is not supported by this gateway";

/// One record of the file, open for reading.
pub(crate) struct Record<'v, 'e> {
    fields: &'v Map<String, Value>,
    path: String,
    errors: &'e mut ConfigErrors,
}

impl<'v, 'e> Record<'v, 'e> {
    /// Opens `value` as a record and reports every field it has that `fields` does not list.
    /// Returns `None` (after reporting it) when `value` is not a mapping.
    pub fn open(
        value: &'v Value,
        path: String,
        fields: &Fields,
        errors: &'e mut ConfigErrors,
    ) -> Option<Record<'v, 'e>> {
        let Value::Object(map) = value else {
            errors.push(path, "expected a record");
            return None;
        };
        for key in map.keys() {
            if fields.known.contains(&key.as_str()) {
                continue;
            }
            let message = if fields.unsupported.contains(&key.as_str()) {
                UNSUPPORTED_FIELD
            } else {
                UNKNOWN_FIELD
            };
            errors.push(field_path(&path, key), message);
        }
        Some(Record {
            fields: map,
            path,
            errors,
        })
    }

    /// Opens `value` as a record that may hold fields this gateway does not know: they are for a
    /// provider module to read.
    pub fn open_extensible(
        value: &'v Value,
        path: String,
        errors: &'e mut ConfigErrors,
    ) -> Option<Record<'v, 'e>> {
        let Value::Object(map) = value else {
            errors.push(path, "expected a record");
            return None;
        };
        Some(Record {
            fields: map,
            path,
            errors,
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn path_of(&self, key: &str) -> String {
        field_path(&self.path, key)
    }

    pub fn errors(&mut self) -> &mut ConfigErrors {
        self.errors
    }

    /// Reports a problem with field `key`.
    pub fn report(&mut self, key: &str, message: impl Into<String>) {
        let path = self.path_of(key);
        self.errors.push(path, message);
    }

    /// The value of `key`, or `None` when it is absent or `null`.
    pub fn value(&self, key: &str) -> Option<&'v Value> {
        self.fields.get(key).filter(|value| !value.is_null())
    }

    pub fn has(&self, key: &str) -> bool {
        self.value(key).is_some()
    }

    pub fn string(&mut self, key: &str) -> Option<&'v str> {
        let value = self.value(key)?;
        match value.as_str() {
            Some(text) => Some(text),
            None => {
                self.report(key, "expected a string");
                None
            }
        }
    }

    pub fn required_string(&mut self, key: &str) -> Option<&'v str> {
        if !self.has(key) {
            self.report(key, REQUIRED_FIELD);
            return None;
        }
        self.string(key)
    }

    pub fn bool_or(&mut self, key: &str, default: bool) -> bool {
        self.bool(key).unwrap_or(default)
    }

    pub fn bool(&mut self, key: &str) -> Option<bool> {
        let value = self.value(key)?;
        match value.as_bool() {
            Some(flag) => Some(flag),
            None => {
                self.report(key, "expected a boolean");
                None
            }
        }
    }

    pub fn integer(&mut self, key: &str) -> Option<i64> {
        let value = self.value(key)?;
        let number = as_integer(value);
        if number.is_none() {
            self.report(key, "expected an integer");
        }
        number
    }

    /// An integer within `min..=max`.
    pub fn integer_between(&mut self, key: &str, min: i64, max: i64) -> Option<i64> {
        let number = self.integer(key)?;
        if number < min || number > max {
            self.report(key, format!("value should be between {min} and {max}"));
            return None;
        }
        Some(number)
    }

    /// An integer greater than `bound`.
    pub fn integer_greater_than(&mut self, key: &str, bound: i64) -> Option<i64> {
        let number = self.integer(key)?;
        if number <= bound {
            self.report(key, format!("value must be greater than {bound}"));
            return None;
        }
        Some(number)
    }

    pub fn number(&mut self, key: &str) -> Option<f64> {
        let value = self.value(key)?;
        match value.as_f64() {
            Some(number) => Some(number),
            None => {
                self.report(key, "expected a number");
                None
            }
        }
    }

    /// A number within `min..=max`.
    pub fn number_between(&mut self, key: &str, min: f64, max: f64) -> Option<f64> {
        let number = self.number(key)?;
        if number < min || number > max {
            self.report(key, format!("value should be between {min} and {max}"));
            return None;
        }
        Some(number)
    }

    /// A number greater than `bound`.
    pub fn number_greater_than(&mut self, key: &str, bound: f64) -> Option<f64> {
        let number = self.number(key)?;
        if number <= bound {
            self.report(key, format!("value must be greater than {bound}"));
            return None;
        }
        Some(number)
    }

    /// A string that must be one of `allowed`.
    pub fn one_of(&mut self, key: &str, allowed: &[&str]) -> Option<&'v str> {
        let text = self.string(key)?;
        if allowed.contains(&text) {
            Some(text)
        } else {
            self.report(key, expected_one_of(allowed));
            None
        }
    }

    /// The elements of an array field; empty when the field is absent or not an array.
    pub fn array(&mut self, key: &str) -> &'v [Value] {
        let Some(value) = self.value(key) else {
            return &[];
        };
        match value.as_array() {
            Some(items) => items,
            None => {
                self.report(key, "expected an array");
                &[]
            }
        }
    }

    /// The strings of an array-of-strings field, each with its index in the array. Elements that
    /// are not strings are reported and left out.
    pub fn strings(&mut self, key: &str) -> Vec<(usize, &'v str)> {
        let items = self.array(key);
        let mut strings = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(text) => strings.push((index, text)),
                None => {
                    let path = index_path(&self.path_of(key), index);
                    self.errors.push(path, "expected a string");
                }
            }
        }
        strings
    }

    /// Opens the nested record `key` as [`Record::open_extensible`] does.
    pub fn extensible_record<'r>(&'r mut self, key: &str) -> Option<Record<'v, 'r>> {
        let value = self.value(key)?;
        let path = self.path_of(key);
        Record::open_extensible(value, path, self.errors)
    }

    /// Opens the nested record `key`. `None` when it is absent or not a mapping (reported).
    pub fn record<'r>(&'r mut self, key: &str, fields: &Fields) -> Option<Record<'v, 'r>> {
        let value = self.value(key)?;
        let path = self.path_of(key);
        Record::open(value, path, fields, self.errors)
    }
}

/// Kong's message for a value outside an enumeration.
pub(crate) fn expected_one_of(allowed: &[&str]) -> String {
    format!("expected one of: {}", allowed.join(", "))
}

/// YAML writes `256` and `256.0` for the same integer; Kong accepts both.
fn as_integer(value: &Value) -> Option<i64> {
    if let Some(number) = value.as_i64() {
        return Some(number);
    }
    let number = value.as_f64()?;
    let in_range = number >= i64::MIN as f64 && number <= i64::MAX as f64;
    if number.fract() == 0.0 && in_range {
        Some(number as i64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: Fields = Fields {
        known: &["name", "port", "flag", "kind", "list"],
        unsupported: &["snis"],
    };

    fn open_and<T>(value: Value, read: impl FnOnce(&mut Record) -> T) -> (Option<T>, ConfigErrors) {
        let mut errors = ConfigErrors::default();
        let result =
            Record::open(&value, "r".into(), &FIELDS, &mut errors).map(|mut r| read(&mut r));
        (result, errors)
    }

    fn messages(errors: &ConfigErrors) -> Vec<String> {
        errors.0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn unknown_and_unsupported_fields_are_reported_with_their_paths() {
        let (_, errors) = open_and(json!({"name": "x", "nmae": "y", "snis": []}), |_| ());
        assert_eq!(
            messages(&errors),
            [
                "r.nmae: unknown field",
                "r.snis: field is not supported by this gateway"
            ]
        );
    }

    #[test]
    fn a_non_mapping_is_not_a_record() {
        let (opened, errors) = open_and(json!(["a"]), |_| ());
        assert!(opened.is_none());
        assert_eq!(messages(&errors), ["r: expected a record"]);
    }

    #[test]
    fn null_counts_as_missing() {
        let (name, errors) = open_and(json!({"name": null}), |r| {
            r.required_string("name").map(str::to_owned)
        });
        assert_eq!(name, Some(None));
        assert_eq!(messages(&errors), ["r.name: required field missing"]);
    }

    #[test]
    fn wrong_types_are_reported() {
        let (_, errors) = open_and(
            json!({"name": 1, "port": "80", "flag": "yes", "list": ["a", 2]}),
            |r| {
                r.string("name");
                r.integer_between("port", 0, 65535);
                r.bool("flag");
                r.strings("list").len()
            },
        );
        assert_eq!(
            messages(&errors),
            [
                "r.name: expected a string",
                "r.port: expected an integer",
                "r.flag: expected a boolean",
                "r.list[1]: expected a string"
            ]
        );
    }

    #[test]
    fn integers_may_be_written_as_whole_floats_and_are_range_checked() {
        let (port, errors) = open_and(json!({"port": 8080.0}), |r| {
            r.integer_between("port", 0, 65535)
        });
        assert_eq!(port, Some(Some(8080)));
        assert!(errors.is_empty());

        let (port, errors) = open_and(json!({"port": 70000}), |r| {
            r.integer_between("port", 0, 65535)
        });
        assert_eq!(port, Some(None));
        assert_eq!(
            messages(&errors),
            ["r.port: value should be between 0 and 65535"]
        );
    }

    #[test]
    fn one_of_lists_the_allowed_values() {
        let (kind, errors) = open_and(json!({"kind": "c"}), |r| {
            r.one_of("kind", &["a", "b"]).map(str::to_owned)
        });
        assert_eq!(kind, Some(None));
        assert_eq!(messages(&errors), ["r.kind: expected one of: a, b"]);
    }
}
