//! Same-format streams are forwarded without copies: a counting global allocator
//! (this test binary's own) shows that passing a 1,000-event stream through the
//! pass-through translators allocates a bounded number of times, not once per event,
//! and that each chunk handed to the client is the very buffer that arrived.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use tollgate::error::Dialect;
use tollgate::formats::{stream_translator, StreamTranslator, WireFormat};

/// Counts the allocations of the current thread (tests run on several threads).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(|a| a.get())
}

const EVENTS: usize = 1_000;

/// A chunk as Pingora hands it over: copied out of its read buffer into a vector of
/// exactly its length (the kind of `Bytes` whose first clone allocates).
fn read_chunk(text: String) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// One OpenAI content chunk per upstream read, as providers flush them.
fn openai_chunks() -> Vec<Bytes> {
    let mut chunks: Vec<Bytes> = (0..EVENTS)
        .map(|i| {
            read_chunk(format!(
                "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"tok{i} \"}},\"finish_reason\":null}}]}}\n\n"
            ))
        })
        .collect();
    chunks.push(Bytes::from_static(
        b"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
    ));
    chunks.push(Bytes::from_static(
        b"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":1000,\"total_tokens\":1009}}\n\n",
    ));
    chunks.push(Bytes::from_static(b"data: [DONE]\n\n"));
    chunks
}

fn anthropic_chunks() -> Vec<Bytes> {
    let mut chunks = vec![Bytes::from_static(
        b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n",
    )];
    chunks.extend((0..EVENTS).map(|i| {
        read_chunk(format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"tok{i} \"}}}}\n\n"
        ))
    }));
    chunks.push(Bytes::from_static(
        b"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":1000}}\n\n",
    ));
    chunks.push(Bytes::from_static(
        b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ));
    chunks
}

/// Feeds every chunk; returns the allocations made while doing so and how many
/// chunks went out as the same buffer that came in.
fn pass(t: &mut dyn StreamTranslator, chunks: Vec<Bytes>) -> (u64, usize, Vec<u8>) {
    let mut client = Vec::with_capacity(chunks.iter().map(Bytes::len).sum::<usize>() + 1024);
    let mut forwarded_as_is = 0;
    let before = allocations();
    for chunk in chunks {
        let ptr = chunk.as_ptr();
        let out = match t.feed_bytes(chunk) {
            Ok(out) => out,
            Err(failure) => panic!("stream failed: {:?}", failure.error),
        };
        forwarded_as_is += usize::from(out.as_ptr() == ptr && !out.is_empty());
        client.extend_from_slice(&out);
    }
    let mut last = Vec::new();
    t.finish(&mut last);
    let made = allocations() - before;
    assert!(last.is_empty(), "a complete stream needs no tail");
    (made, forwarded_as_is, client)
}

#[test]
fn openai_pass_through_allocates_o1_and_forwards_each_chunk_as_is() {
    let chunks = openai_chunks();
    let total = chunks.len();
    let input: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
    let mut t = stream_translator(WireFormat::OpenAiChat, Dialect::OpenAi, true, "gpt");
    let (made, as_is, client) = pass(&mut *t, chunks);
    assert_eq!(client, input, "the client receives the upstream bytes");
    assert_eq!(as_is, total, "every chunk is the buffer that arrived");
    assert!(made <= 16, "{made} allocations for {total} chunks");
    assert_eq!(t.usage().output_tokens, 1000);
}

#[test]
fn stripping_the_forced_usage_chunk_rebuilds_only_that_chunk() {
    let chunks = openai_chunks();
    let total = chunks.len();
    let mut t = stream_translator(WireFormat::OpenAiChat, Dialect::OpenAi, false, "gpt");
    let (made, as_is, client) = pass(&mut *t, chunks);
    let text = String::from_utf8(client).unwrap_or_default();
    assert!(!text.contains("\"choices\":[],"), "the usage chunk is cut");
    assert!(text.ends_with("data: [DONE]\n\n"));
    // Everything but the usage chunk (which becomes nothing) goes out as it came.
    assert_eq!(as_is, total - 1);
    assert!(made <= 16, "{made} allocations for {total} chunks");
    assert_eq!(t.usage().output_tokens, 1000);
}

#[test]
fn an_event_split_over_chunks_is_not_held_once_it_shows_content() {
    let mut t = stream_translator(WireFormat::OpenAiChat, Dialect::OpenAi, false, "gpt");
    let event = b"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"}}]}\n\n";
    let (head, tail) = event.split_at(70);
    let out = t
        .feed_bytes(Bytes::copy_from_slice(head))
        .unwrap_or_default();
    assert_eq!(&out[..], head, "the first half goes out at once");
    let out = t
        .feed_bytes(Bytes::copy_from_slice(tail))
        .unwrap_or_default();
    assert_eq!(&out[..], tail);
    // A chunk that could still be the usage chunk is held until it is complete.
    let usage = b"data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}\n\n";
    let (head, tail) = usage.split_at(30);
    assert!(t
        .feed_bytes(Bytes::copy_from_slice(head))
        .unwrap_or_default()
        .is_empty());
    assert!(t
        .feed_bytes(Bytes::copy_from_slice(tail))
        .unwrap_or_default()
        .is_empty());
}

#[test]
fn anthropic_pass_through_allocates_o1_and_forwards_each_chunk_as_is() {
    let chunks = anthropic_chunks();
    let total = chunks.len();
    let mut t = stream_translator(
        WireFormat::AnthropicMessages,
        Dialect::Anthropic,
        true,
        "claude",
    );
    let (made, as_is, _) = pass(&mut *t, chunks);
    assert_eq!(as_is, total);
    assert!(made <= 16, "{made} allocations for {total} chunks");
    assert_eq!(t.usage().output_tokens, 1000);
}
