//! Recordings: a session's messages and connection events as JSON lines, the schema of
//! `sub --json --events` with a header line first. Written by `mqscope record` and the
//! explorer's `W`, read by `open`, `replay` and `export`.
//!
//! ```text
//!  {"type":"header","format":"mqscope-recording","version":1,"broker":…,"filters":[…],"started":…}
//!  {"type":"connection","event":"connecting",…}      lifecycle, as sub --json --events
//!  {"type":"message","ts":…,"topic":…,"payload":…}    payload as text, or payload_b64
//!  {"type":"packet","ts":…,"dir":"in","packet":"PUBLISH",…}   with --packets
//! ```
//!
//! A `.zst` or `.gz` name compresses; readers look at the bytes, not the name. Every line is
//! complete on disk within a second (`kill -9` loses at most that), and a reader uses
//! everything up to the first line it cannot read, saying which and why.

pub mod export;
pub mod format;
pub mod player;
pub mod reader;
pub mod writer;

pub use format::{Entry, FORMAT_VERSION, Header};
pub use player::{Playback, Player, Speed};
pub use reader::{Problem, Reader};
pub use writer::{Recorder, RecorderStats};
