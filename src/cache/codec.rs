//! How entries and semantic records travel through Redis: a small JSON header and
//! the answer's body compressed with zstd (level 1: JSON answers shrink 3-5x at a
//! cost of microseconds), and semantic records as fixed binary fields with the vector
//! as little-endian `f32`s. A value that does not decode is a miss, never an error.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::semantic::Record;
use super::Entry;
use crate::formats::WireFormat;
use crate::model::Usage;

/// First byte of an encoded entry; a new layout gets a new one.
const ENTRY_V1: u8 = 1;
/// zstd level: the fastest, since every stored answer pays it on the hot path.
const LEVEL: i32 = 1;
/// Largest body a stored value may expand to (the gateway never stores more).
const MAX_BODY: usize = 64 << 20;

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    format: u8,
    usage: Usage,
    #[serde(borrow)]
    model: Cow<'a, str>,
    created_ms: u64,
    #[serde(borrow)]
    route: Cow<'a, str>,
    #[serde(borrow)]
    namespace: Cow<'a, str>,
    ttl_ms: u64,
    gaps_ms: Cow<'a, [u32]>,
}

fn format_code(f: WireFormat) -> u8 {
    match f {
        WireFormat::OpenAiChat => 0,
        WireFormat::AnthropicMessages => 1,
        WireFormat::Gemini => 2,
        WireFormat::BedrockConverse => 3,
        WireFormat::OpenAiResponses => 4,
    }
}

fn format_of(code: u8) -> Option<WireFormat> {
    Some(match code {
        0 => WireFormat::OpenAiChat,
        1 => WireFormat::AnthropicMessages,
        2 => WireFormat::Gemini,
        3 => WireFormat::BedrockConverse,
        4 => WireFormat::OpenAiResponses,
        _ => return None,
    })
}

pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `entry` as one Redis value.
pub fn encode_entry(entry: &Entry) -> Option<Vec<u8>> {
    let header = Header {
        format: format_code(entry.format),
        usage: entry.usage,
        model: Cow::Borrowed(&entry.upstream_model),
        created_ms: unix_ms(entry.created),
        route: Cow::Borrowed(&entry.route),
        namespace: Cow::Borrowed(&entry.namespace),
        ttl_ms: entry.ttl.as_millis() as u64,
        gaps_ms: Cow::Borrowed(&entry.gaps_ms),
    };
    let header = serde_json::to_vec(&header).ok()?;
    let body = zstd::bulk::compress(&entry.body, LEVEL).ok()?;
    let mut out = Vec::with_capacity(5 + header.len() + body.len());
    out.push(ENTRY_V1);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&body);
    Some(out)
}

/// The entry a Redis value holds; `None` for anything else.
pub fn decode_entry(value: &[u8]) -> Option<Entry> {
    let (&version, rest) = value.split_first()?;
    if version != ENTRY_V1 || rest.len() < 4 {
        return None;
    }
    let (len, rest) = rest.split_at(4);
    let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
    if rest.len() < len {
        return None;
    }
    let (header, body) = rest.split_at(len);
    let h: Header = serde_json::from_slice(header).ok()?;
    let body = zstd::bulk::decompress(body, MAX_BODY).ok()?;
    Some(Entry {
        format: format_of(h.format)?,
        body: Bytes::from(body),
        usage: h.usage,
        upstream_model: Arc::from(&*h.model),
        created: UNIX_EPOCH + Duration::from_millis(h.created_ms),
        route: Arc::from(&*h.route),
        namespace: Arc::from(&*h.namespace),
        ttl: Duration::from_millis(h.ttl_ms),
        gaps_ms: h.gaps_ms.into_owned(),
    })
}

/// A semantic record as one stream field.
pub fn encode_record(r: &Record) -> Vec<u8> {
    let mut out = Vec::with_capacity(84 + r.route.len() + r.namespace.len() + r.vector.len() * 4);
    out.extend_from_slice(&r.scope);
    out.extend_from_slice(&r.key);
    out.extend_from_slice(&r.expires_ms.to_le_bytes());
    for s in [&*r.route, &*r.namespace] {
        out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    out.extend_from_slice(&(r.vector.len() as u32).to_le_bytes());
    for v in r.vector.iter() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Reads fields off the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn str(&mut self) -> Option<Arc<str>> {
        let len = u16::from_le_bytes(self.array()?) as usize;
        std::str::from_utf8(self.take(len)?).ok().map(Arc::from)
    }
}

pub fn decode_record(value: &[u8]) -> Option<Record> {
    let mut r = Reader(value);
    let scope = r.array::<32>()?;
    let key = r.array::<32>()?;
    let expires_ms = u64::from_le_bytes(r.array()?);
    let route = r.str()?;
    let namespace = r.str()?;
    let dims = u32::from_le_bytes(r.array()?) as usize;
    let raw = r.take(dims.checked_mul(4)?)?;
    let vector: Vec<f32> = raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Some(Record {
        scope,
        key,
        expires_ms,
        route,
        namespace,
        vector: vector.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_records_round_trip() {
        let entry = Entry {
            format: WireFormat::AnthropicMessages,
            body: Bytes::from(r#"{"content":[{"type":"text","text":"hi hi hi hi hi"}]}"#),
            usage: Usage {
                input_tokens: 3,
                output_tokens: 5,
                ..Usage::default()
            },
            upstream_model: Arc::from("claude"),
            created: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            route: Arc::from("r"),
            namespace: Arc::from("team:a"),
            ttl: Duration::from_secs(60),
            gaps_ms: vec![1, 20, 300],
        };
        let back = decode_entry(&encode_entry(&entry).unwrap()).unwrap();
        assert_eq!(back.body, entry.body);
        assert_eq!(back.usage, entry.usage);
        assert_eq!(back.created, entry.created);
        assert_eq!(back.gaps_ms, entry.gaps_ms);
        assert_eq!(back.format, entry.format);
        assert!(decode_entry(b"\x01garbage").is_none());
        assert!(decode_entry(b"").is_none());

        let rec = Record {
            scope: [7; 32],
            key: [9; 32],
            expires_ms: 42,
            route: Arc::from("r"),
            namespace: Arc::from("global"),
            vector: vec![0.5, -0.25, 1.0].into(),
        };
        let bytes = encode_record(&rec);
        let back = decode_record(&bytes).unwrap();
        assert_eq!(back.vector, rec.vector);
        assert_eq!(
            (back.scope, back.key, back.expires_ms),
            (rec.scope, rec.key, 42)
        );
        assert!(decode_record(&bytes[..bytes.len() - 1]).is_none());
    }
}
