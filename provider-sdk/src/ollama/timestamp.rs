//! Ollama's `created_at` (RFC 3339, e.g. `2023-08-04T08:52:19.385406455-07:00`) as OpenAI's
//! `created`, in Unix seconds.

/// The Unix time of an RFC 3339 timestamp, fractions of a second dropped. `None` when `text` is
/// not one, or is before 1970: the caller then uses the current time.
pub(super) fn unix_seconds(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let slice = bytes.get(from..from + len)?;
        slice.iter().try_fold(0i64, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
        })
    };
    let separator_at =
        |at: usize, expected: &[u8]| bytes.get(at).is_some_and(|b| expected.contains(b));
    if !(separator_at(4, b"-")
        && separator_at(7, b"-")
        && separator_at(10, b"Tt ")
        && separator_at(13, b":")
        && separator_at(16, b":"))
    {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut at = 19;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        let fraction = bytes
            .get(at..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if fraction == 0 {
            return None;
        }
        at += fraction;
    }
    let offset = match bytes.get(at..)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let minutes = digits(at + 1, 2)? * 60 + digits(at + 4, 2)?;
            if *sign == b'+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => return None,
    };
    let seconds =
        days_since_epoch(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second - offset;
    u64::try_from(seconds).ok()
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_timestamps_in_utc_and_with_offsets() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        // The Kong fixtures' `created_at`.
        assert_eq!(
            unix_seconds("2024-01-15T08:13:38.876196Z"),
            Some(1_705_306_418)
        );
        // From Ollama's API documentation: nanoseconds and a negative offset.
        assert_eq!(
            unix_seconds("2023-08-04T08:52:19.385406455-07:00"),
            Some(1_691_164_339)
        );
        assert_eq!(
            unix_seconds("2024-02-29T23:59:59+05:30"),
            Some(1_709_231_399)
        );
        assert_eq!(unix_seconds("2000-03-01t00:00:00z"), Some(951_868_800));
    }

    #[test]
    fn anything_else_is_none() {
        for text in [
            "",
            "2024-01-15",
            "2024-01-15T08:13:38",
            "2024-01-15T08:13:38.Z",
            "2024-13-15T08:13:38Z",
            "2024-01-15T25:13:38Z",
            "2024-01-15T08:13:38+0530",
            "2024-01-15T08:13:38Zjunk",
            "1969-12-31T23:59:59Z",
            "２024-01-15T08:13:38Z",
            "yesterday at noon",
        ] {
            assert_eq!(unix_seconds(text), None, "{text}");
        }
    }
}
