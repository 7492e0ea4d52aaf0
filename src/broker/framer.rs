//! Incremental MQTT framing of a byte stream that arrives in arbitrary chunks.
//!
//! The pump forwards bytes untouched; the framer only finds packet boundaries and keeps a copy of
//! the first bytes of each body (all of a control packet, the head of a PUBLISH) so the packet can
//! be described. The payload of a large PUBLISH is never copied.

use super::wire::{self, PacketType};

/// How much of a body to keep for description.
#[derive(Debug, Clone, Copy)]
pub struct CaptureLimits {
    /// Bytes kept of a PUBLISH body (topic, packet id, properties). 0 skips PUBLISH entirely.
    pub publish: usize,
    /// Bytes kept of any other packet (CONNECT, CONNACK, SUBACK...).
    pub control: usize,
    /// The largest packet accepted (fixed header included); a larger one stops the framer as
    /// soon as its header is read, before its body arrives.
    pub max_packet: usize,
}

/// Why the framer stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The remaining length ran past four bytes: the bytes are not MQTT.
    #[error("remaining length malformed (more than four bytes)")]
    Malformed { head: String },
    /// A packet larger than `max_packet`.
    #[error("a {kind} of {size} bytes, larger than the maximum of {max} bytes we announced")]
    TooLarge {
        kind: PacketType,
        size: usize,
        max: usize,
        head: String,
    },
}

impl FrameError {
    /// The frame's first bytes in hex.
    pub fn head(&self) -> &str {
        match self {
            FrameError::Malformed { head } | FrameError::TooLarge { head, .. } => head,
        }
    }
}

/// One complete packet: its fixed header and the captured start of its body.
#[derive(Debug)]
pub struct Frame<'a> {
    /// The first byte: packet type in the high nibble, flags in the low nibble.
    pub first: u8,
    pub header_len: usize,
    pub remaining: usize,
    /// The captured start of the body (the whole body when `complete`).
    pub body: &'a [u8],
    pub complete: bool,
}

impl Frame<'_> {
    pub fn packet_type(&self) -> PacketType {
        PacketType::of(self.first)
    }

    /// Exact size on the wire.
    pub fn wire_size(&self) -> usize {
        self.header_len + self.remaining
    }
}

/// Framing state carried from one chunk to the next.
#[derive(Debug)]
pub struct Framer {
    limits: CaptureLimits,
    header: [u8; 5],
    header_len: usize,
    /// Body bytes of the current packet still to come; `None` while reading a header.
    body_left: Option<usize>,
    remaining: usize,
    capture: Vec<u8>,
    capture_limit: usize,
    broken: Option<FrameError>,
}

impl Framer {
    pub fn new(limits: CaptureLimits) -> Self {
        Self {
            limits,
            header: [0; 5],
            header_len: 0,
            body_left: None,
            remaining: 0,
            capture: Vec::new(),
            capture_limit: 0,
            broken: None,
        }
    }

    /// Feeds the next chunk; calls `on_frame` for every packet completed in it.
    pub fn feed(
        &mut self,
        mut data: &[u8],
        on_frame: &mut dyn FnMut(Frame<'_>),
    ) -> Result<(), FrameError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        while !data.is_empty() {
            match self.body_left {
                None => {
                    let byte = data[0];
                    data = &data[1..];
                    self.header[self.header_len] = byte;
                    self.header_len += 1;
                    if self.header_len >= 2 && byte & 0x80 == 0 {
                        self.start_body();
                        let size = self.header_len + self.remaining;
                        if size > self.limits.max_packet {
                            let e = FrameError::TooLarge {
                                kind: PacketType::of(self.header[0]),
                                size,
                                max: self.limits.max_packet,
                                head: self.header_hex(),
                            };
                            self.broken = Some(e.clone());
                            return Err(e);
                        }
                        if self.body_left == Some(0) {
                            self.emit(on_frame);
                        }
                    } else if self.header_len == 5 {
                        let e = FrameError::Malformed {
                            head: self.header_hex(),
                        };
                        self.broken = Some(e.clone());
                        return Err(e);
                    }
                }
                Some(left) => {
                    let take = left.min(data.len());
                    let room = self.capture_limit.saturating_sub(self.capture.len());
                    if room > 0 {
                        self.capture.extend_from_slice(&data[..take.min(room)]);
                    }
                    data = &data[take..];
                    self.body_left = Some(left - take);
                    if left == take {
                        self.emit(on_frame);
                    }
                }
            }
        }
        Ok(())
    }

    fn header_hex(&self) -> String {
        self.header[..self.header_len]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn start_body(&mut self) {
        // The header ended on a byte without the continuation bit, within four length bytes.
        let remaining = wire::fixed_header(&self.header[..self.header_len])
            .ok()
            .flatten()
            .map_or(0, |(_, remaining)| remaining);
        self.remaining = remaining;
        let limit = if PacketType::of(self.header[0]) == PacketType::Publish {
            self.limits.publish
        } else {
            self.limits.control
        };
        self.capture_limit = limit.min(remaining);
        self.capture.clear();
        self.body_left = Some(remaining);
    }

    fn emit(&mut self, on_frame: &mut dyn FnMut(Frame<'_>)) {
        let first = self.header[0];
        let skip = PacketType::of(first) == PacketType::Publish && self.limits.publish == 0;
        if !skip {
            on_frame(Frame {
                first,
                header_len: self.header_len,
                remaining: self.remaining,
                body: &self.capture,
                complete: self.capture.len() == self.remaining,
            });
        }
        self.header_len = 0;
        self.body_left = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(limits: CaptureLimits, chunks: &[&[u8]]) -> Vec<(u8, usize, Vec<u8>, bool)> {
        let mut framer = Framer::new(limits);
        let mut out = Vec::new();
        for chunk in chunks {
            framer
                .feed(chunk, &mut |f| {
                    let t = f.packet_type().number();
                    out.push((t, f.wire_size(), f.body.to_vec(), f.complete));
                })
                .expect("well formed");
        }
        out
    }

    const ALL: CaptureLimits = CaptureLimits {
        publish: 4,
        control: 64,
        max_packet: 1 << 20,
    };

    #[test]
    fn frames_across_arbitrary_chunk_boundaries() {
        // PINGRESP, CONNACK (20 02 00 00), PUBLISH with 6-byte body split over chunks.
        let got = frames(
            ALL,
            &[
                &[0xD0, 0x00, 0x20],
                &[0x02, 0x00],
                &[0x00, 0x30, 0x06, 0, 1, b'a'],
                &[1, 2, 3],
            ],
        );
        assert_eq!(
            got,
            vec![
                (13, 2, vec![], true),
                (2, 4, vec![0, 0], true),
                (3, 8, vec![0, 1, b'a', 1], false),
            ]
        );
    }

    #[test]
    fn multi_byte_remaining_length_gives_exact_wire_size() {
        let mut packet = vec![0x30, 0xC8, 0x01]; // remaining length 200
        packet.extend(std::iter::repeat_n(7u8, 200));
        let got = frames(ALL, &[&packet]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, 203);
    }

    #[test]
    fn publish_can_be_skipped_entirely() {
        let limits = CaptureLimits {
            publish: 0,
            control: 64,
            max_packet: 1 << 20,
        };
        let got = frames(limits, &[&[0x30, 0x03, 0, 1, b'x', 0xD0, 0x00]]);
        assert_eq!(got, vec![(13, 2, vec![], true)]);
    }

    #[test]
    fn overlong_length_is_malformed() {
        let mut framer = Framer::new(ALL);
        let bad = [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
        let e = framer.feed(&bad, &mut |_| {}).expect_err("malformed");
        assert_eq!(e.head(), "30 ff ff ff ff");
        assert!(matches!(e, FrameError::Malformed { .. }));
        assert_eq!(
            framer.feed(&[0xD0, 0x00], &mut |_| {}),
            Err(e),
            "broken for good"
        );
    }

    #[test]
    fn a_packet_over_the_maximum_stops_at_its_header() {
        let mut framer = Framer::new(CaptureLimits {
            max_packet: 100,
            ..ALL
        });
        let mut seen = 0;
        // 2 bytes of header, 98 of body: exactly the maximum.
        let mut ok = vec![0x30, 98];
        ok.extend(std::iter::repeat_n(0u8, 98));
        framer
            .feed(&ok, &mut |_| seen += 1)
            .expect("at the maximum");
        let e = framer
            .feed(&[0x30, 0x63], &mut |_| seen += 1)
            .expect_err("too large");
        assert_eq!(seen, 1);
        assert_eq!(
            e.to_string(),
            "a PUBLISH of 101 bytes, larger than the maximum of 100 bytes we announced"
        );
    }
}
