//! The edge: what faces clients before any upstream is involved — listening sockets,
//! client-side clocks, connection and memory limits, and the scrubbing of provider
//! material from what reaches a client.

pub mod body;
pub mod clocks;
pub mod complete;
pub mod conn;
pub mod header_scan;
pub mod header_value;
pub mod heads;
pub mod listen;
mod refusal;
pub mod scrub;
pub mod upstream_headers;
