//! Image references in OpenAI `image_url` content parts: a base64 `data:` URL, which providers
//! take as inline bytes, or an `http(s)` URL, which some providers fetch themselves.

use crate::abi::ModuleError;

/// Where an image comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSource<'a> {
    Data(DataUrl<'a>),
    /// An absolute `http` or `https` URL, as sent.
    Http(&'a str),
}

/// `data:<mime>;base64,<data>`, borrowed from the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataUrl<'a> {
    /// The media type without parameters, e.g. `image/png`.
    pub mime: &'a str,
    /// The payload, still base64-encoded (what providers' JSON APIs take).
    pub data: &'a str,
}

/// Reads an `image_url.url`. Anything but a base64 data URL or an absolute http(s) URL is a 400.
pub fn parse_image_url(url: &str) -> Result<ImageSource<'_>, ModuleError> {
    if starts_with_ignore_case(url, "data:") {
        return parse_data_url(url).map(ImageSource::Data);
    }
    match crate::url::split_absolute(url) {
        Some(_) => Ok(ImageSource::Http(url)),
        None => Err(invalid("must be an http or https URL or a base64 data URL")),
    }
}

/// Reads `data:<mime>[;<parameter>…];base64,<data>`. Only base64 payloads are accepted: providers
/// take images as base64, and a percent-encoded image would have to be re-encoded.
pub fn parse_data_url(url: &str) -> Result<DataUrl<'_>, ModuleError> {
    let shape = || invalid("a data URL must look like data:<mime type>;base64,<data>");
    if !starts_with_ignore_case(url, "data:") {
        return Err(shape());
    }
    let rest = url.get("data:".len()..).ok_or_else(shape)?;
    let (header, data) = rest.split_once(',').ok_or_else(shape)?;
    let mut parameters = header.split(';');
    let mime = parameters.next().unwrap_or_default();
    if !parameters
        .next_back()
        .is_some_and(|last| last.eq_ignore_ascii_case("base64"))
    {
        return Err(shape());
    }
    if !is_mime_type(mime) {
        return Err(invalid(&format!(
            "data URL media type `{mime}` is not a MIME type such as image/png"
        )));
    }
    if !is_base64(data) {
        return Err(invalid("data URL payload is not valid base64"));
    }
    Ok(DataUrl { mime, data })
}

fn invalid(problem: &str) -> ModuleError {
    ModuleError::invalid_request(format!("image_url: {problem}"))
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

fn is_mime_type(mime: &str) -> bool {
    let is_token = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    mime.split_once('/')
        .is_some_and(|(kind, subtype)| is_token(kind) && is_token(subtype))
}

/// Standard-alphabet base64 with optional padding (some clients leave it off).
fn is_base64(data: &str) -> bool {
    let body = data.trim_end_matches('=');
    let padding = data.len() - body.len();
    !body.is_empty()
        && padding <= 2
        && (padding == 0 || data.len().is_multiple_of(4))
        && body.len() % 4 != 1
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<ImageSource<'_>, ModuleError>) -> String {
        let error = result.unwrap_err();
        assert_eq!(error.status, 400);
        error.message.into_string()
    }

    #[test]
    fn data_urls_give_mime_and_payload() {
        assert_eq!(
            parse_image_url("data:image/png;base64,iVBORw0KGgo="),
            Ok(ImageSource::Data(DataUrl {
                mime: "image/png",
                data: "iVBORw0KGgo="
            }))
        );
        assert_eq!(
            parse_data_url("DATA:image/jpeg;name=cat.jpg;BASE64,/9j/4AAQ"),
            Ok(DataUrl {
                mime: "image/jpeg",
                data: "/9j/4AAQ"
            })
        );
        assert_eq!(
            parse_data_url("data:image/webp;base64,UklGRg").map(|d| d.data),
            Ok("UklGRg"),
            "unpadded"
        );
    }

    #[test]
    fn http_urls_are_kept_as_sent() {
        let url = "https://upload.wikimedia.org/a/b.jpg?width=200";
        assert_eq!(parse_image_url(url), Ok(ImageSource::Http(url)));
        assert_eq!(
            parse_image_url("HTTP://h/x.png"),
            Ok(ImageSource::Http("HTTP://h/x.png"))
        );
    }

    #[test]
    fn bad_urls_are_client_errors() {
        let shape = "image_url: a data URL must look like data:<mime type>;base64,<data>";
        for (url, expected) in [
            ("data:image/png,rawbytes", shape),
            ("data:image/png;base64", shape),
            (
                "data:;base64,AAAA",
                "image_url: data URL media type `` is not a MIME type such as image/png",
            ),
            (
                "data:png;base64,AAAA",
                "image_url: data URL media type `png` is not a MIME type such as image/png",
            ),
            (
                "data:image/png;base64,",
                "image_url: data URL payload is not valid base64",
            ),
            (
                "data:image/png;base64,AA AA",
                "image_url: data URL payload is not valid base64",
            ),
            (
                "data:image/png;base64,AA-_",
                "image_url: data URL payload is not valid base64",
            ),
            (
                "data:image/png;base64,A===",
                "image_url: data URL payload is not valid base64",
            ),
            (
                "data:image/png;base64,AAAAA",
                "image_url: data URL payload is not valid base64",
            ),
            (
                "file:///etc/passwd",
                "image_url: must be an http or https URL or a base64 data URL",
            ),
            (
                "cat.png",
                "image_url: must be an http or https URL or a base64 data URL",
            ),
            (
                "",
                "image_url: must be an http or https URL or a base64 data URL",
            ),
        ] {
            assert_eq!(message(parse_image_url(url)), expected, "{url}");
        }
    }
}
