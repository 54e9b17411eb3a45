//! The canonical model: requests, responses and stream events as the gateway sees
//! them, independent of any wire format. Format modules translate to and from it.

mod usage;

pub use usage::Usage;
