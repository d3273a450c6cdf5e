//! JSON read from bytes with one UTF-8 check of the whole text up front. `serde_json::from_slice`
//! checks each string as it reads it, a call per key and value that costs more than the string
//! itself for the short ones a request or response is made of; a text known to be UTF-8 is read
//! with `from_str`, which checks nothing again.

use serde::Deserialize;

/// `T` from `bytes`, as `serde_json::from_slice` reads it, errors included.
pub fn from_bytes<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        // serde_json's own error, at the position where it finds the bad byte.
        Err(_) => serde_json::from_slice(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_from_slice_reads_and_fails_where_it_fails() {
        let cases: [&[u8]; 6] = [
            br#"{"a":"b","c":[1,2.5,{"d":null}]}"#,
            "{\"escaped\":\"\\u00e9\\n\",\"raw\":\"é\"}".as_bytes(),
            b"{\"bad\":\"\xff\"}",
            b"{\"cut\":\"\xc3",
            br#"{"a":}"#,
            b"[1,2]",
        ];
        for bytes in cases {
            let ours = from_bytes::<serde_json::Value>(bytes).map_err(|e| e.to_string());
            let theirs =
                serde_json::from_slice::<serde_json::Value>(bytes).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn strings_are_borrowed_from_the_bytes() {
        let bytes = br#"{"key":"value"}"#.to_vec();
        let map: std::collections::BTreeMap<&str, &str> = from_bytes(&bytes).unwrap();
        let value = map["key"];
        assert_eq!(value, "value");
        assert!(bytes.as_ptr_range().contains(&value.as_ptr()));
    }
}
