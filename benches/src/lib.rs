//! What the harness's programs share.

/// The value after `name` in `args`, parsed, or `default` when `name` is not there.
pub fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a valid value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn a_flag_gives_its_value_or_the_default_and_a_bad_value_is_an_error() {
        let given = args(&["mock", "--workers", "3", "--listen", "127.0.0.1:1"]);
        assert_eq!(flag(&given, "--workers", 1), Ok(3));
        assert_eq!(flag(&given, "--chunks", 20), Ok(20));
        assert_eq!(
            flag(&given, "--listen", String::new()).as_deref(),
            Ok("127.0.0.1:1")
        );
        let bad = args(&["mock", "--workers", "many"]);
        assert_eq!(
            flag(&bad, "--workers", 1),
            Err("--workers needs a valid value".to_string())
        );
        assert!(flag::<u32>(&args(&["mock", "--workers"]), "--workers", 1).is_err());
    }
}
