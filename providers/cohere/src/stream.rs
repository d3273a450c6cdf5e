//! What every Cohere stream translator does alike: the order of `push` and `finish`, and what
//! happens when the upstream breaks mid-stream.
//!
//! A translator reads its API's events ([`Events`]). When it fails, because an event is
//! unreadable or the stream stopped before its last event, the bytes it wrote before the failure
//! still reach the client: the gateway answers a failed `push` by calling `finish` and then writes
//! its own error event, so `finish` hands those bytes over and nothing else. Errors Cohere
//! reports inside the stream are not failures of the translator: the events write them as an SSE
//! error event and end the stream cleanly.

use provider_sdk::abi::{ModuleError, ResponseMeta};
use provider_sdk::StreamTranslate;

/// One API's stream events, decoded from the bytes and written as OpenAI chunks.
pub trait Events: Send + 'static {
    /// Decodes `chunk` and writes what its events say to `out`.
    fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), ModuleError>;

    /// The upstream body ended: writes the end of the stream, or fails when Cohere never said
    /// the reply was over.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), ModuleError>;

    fn meta(&self) -> ResponseMeta;
}

/// A [`StreamTranslate`] over `E`.
pub struct Translator<E> {
    events: E,
    /// Set once the stream is over, with what was written before a failure.
    over: Option<Vec<u8>>,
}

impl<E: Events> Translator<E> {
    pub fn new(events: E) -> Translator<E> {
        Translator { events, over: None }
    }

    fn run(
        &mut self,
        step: impl FnOnce(&mut E, &mut Vec<u8>) -> Result<(), ModuleError>,
    ) -> Result<Vec<u8>, ModuleError> {
        let mut out = Vec::new();
        let result = step(&mut self.events, &mut out);
        if let Err(error) = result {
            self.over = Some(out);
            return Err(error);
        }
        Ok(out)
    }
}

impl<E: Events> StreamTranslate for Translator<E> {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        if self.over.is_some() {
            return Ok(Vec::new());
        }
        self.run(|events, out| events.push(chunk, out))
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        if let Some(written) = self.over.as_mut() {
            return Ok(std::mem::take(written));
        }
        let result = self.run(|events, out| events.finish(out));
        if self.over.is_none() {
            self.over = Some(Vec::new());
        }
        result
    }

    fn meta(&self) -> ResponseMeta {
        self.events.meta()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes each byte it is given; `!` is an unreadable event, and finishing without `.` is a
    /// stream cut short.
    #[derive(Default)]
    struct Echo {
        ended: bool,
    }

    impl Events for Echo {
        fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), ModuleError> {
            for &byte in chunk {
                if byte == b'!' {
                    return Err(ModuleError::bad_upstream("unreadable"));
                }
                self.ended |= byte == b'.';
                out.push(byte);
            }
            Ok(())
        }

        fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), ModuleError> {
            out.extend_from_slice(b"[end]");
            if self.ended {
                Ok(())
            } else {
                Err(ModuleError::bad_upstream("cut short"))
            }
        }

        fn meta(&self) -> ResponseMeta {
            ResponseMeta::default()
        }
    }

    #[test]
    fn a_clean_stream_finishes_once() {
        let mut translator = Translator::new(Echo::default());
        assert_eq!(translator.push(b"ab.").unwrap(), b"ab.");
        assert_eq!(translator.finish().unwrap(), b"[end]");
        assert_eq!(translator.finish().unwrap(), b"");
        assert_eq!(translator.push(b"late").unwrap(), b"");
    }

    #[test]
    fn bytes_before_a_failure_are_handed_over_by_finish() {
        let mut translator = Translator::new(Echo::default());
        assert_eq!(translator.push(b"ab").unwrap(), b"ab");
        assert_eq!(translator.push(b"cd!ef").unwrap_err().status, 502);
        assert_eq!(translator.finish().unwrap(), b"cd");
        assert_eq!(translator.push(b"gh").unwrap(), b"");
        assert_eq!(translator.finish().unwrap(), b"");
    }

    #[test]
    fn a_stream_cut_short_fails_in_finish_and_keeps_its_last_bytes() {
        let mut translator = Translator::new(Echo::default());
        assert_eq!(translator.push(b"ab").unwrap(), b"ab");
        assert!(translator.finish().is_err());
        assert_eq!(translator.finish().unwrap(), b"[end]");
        assert_eq!(translator.finish().unwrap(), b"");
    }
}
