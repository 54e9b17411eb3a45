//! AWS wire mechanics the Bedrock provider needs, without the AWS SDK.
//!
//! - [`sigv4`]: Signature Version 4 request signing (header form), plus reading
//!   credentials from the standard environment variables.
//! - [`eventstream`]: the `application/vnd.amazon.eventstream` binary framing that
//!   Bedrock's streaming operations (`ConverseStream`, `InvokeModelWithResponseStream`)
//!   answer with: an incremental, size-bounded decoder.
//!
//! Neither module knows anything about LLMs; translating Bedrock Converse payloads is
//! the job of the `bedrock_converse` format module.

pub mod eventstream;
pub mod sigv4;

pub use eventstream::{
    EventStreamDecoder, EventStreamError, Frame, HeaderValue, DEFAULT_MAX_FRAME_SIZE,
};
pub use sigv4::{
    credentials_from_env, encode_path_segment, sign, sign_with, AwsCredentials, SigningOptions,
    SigningParams,
};
