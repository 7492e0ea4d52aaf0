//! The MQTT wire vocabulary every reader of bytes shares: the control packet types and the
//! variable byte integer (the fixed header's remaining length, property lengths). The framer,
//! the packet describer, the doctor's probes and the packet log all use these, so a rule about
//! the wire lives in one place.

use std::fmt;

/// A control packet type: the high nibble of the fixed header's first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum PacketType {
    /// Type 0 is reserved; a broker that sends it is broken.
    Reserved = 0,
    Connect = 1,
    Connack = 2,
    Publish = 3,
    Puback = 4,
    Pubrec = 5,
    Pubrel = 6,
    Pubcomp = 7,
    Subscribe = 8,
    Suback = 9,
    Unsubscribe = 10,
    Unsuback = 11,
    Pingreq = 12,
    Pingresp = 13,
    Disconnect = 14,
    Auth = 15,
}

impl PacketType {
    pub const ALL: [PacketType; 16] = [
        Self::Reserved,
        Self::Connect,
        Self::Connack,
        Self::Publish,
        Self::Puback,
        Self::Pubrec,
        Self::Pubrel,
        Self::Pubcomp,
        Self::Subscribe,
        Self::Suback,
        Self::Unsubscribe,
        Self::Unsuback,
        Self::Pingreq,
        Self::Pingresp,
        Self::Disconnect,
        Self::Auth,
    ];

    /// The type of a packet from its first byte.
    pub fn of(first_byte: u8) -> Self {
        Self::ALL[usize::from(first_byte >> 4)]
    }

    /// The type from its number (0..=15; anything above is reduced to its low nibble).
    pub fn from_number(n: u8) -> Self {
        Self::ALL[usize::from(n & 0x0F)]
    }

    pub fn number(self) -> u8 {
        self as u8
    }

    /// The name as the specification writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Reserved => "RESERVED",
            Self::Connect => "CONNECT",
            Self::Connack => "CONNACK",
            Self::Publish => "PUBLISH",
            Self::Puback => "PUBACK",
            Self::Pubrec => "PUBREC",
            Self::Pubrel => "PUBREL",
            Self::Pubcomp => "PUBCOMP",
            Self::Subscribe => "SUBSCRIBE",
            Self::Suback => "SUBACK",
            Self::Unsubscribe => "UNSUBSCRIBE",
            Self::Unsuback => "UNSUBACK",
            Self::Pingreq => "PINGREQ",
            Self::Pingresp => "PINGRESP",
            Self::Disconnect => "DISCONNECT",
            Self::Auth => "AUTH",
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A variable byte integer longer than four bytes: the bytes are not MQTT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("variable byte integer longer than four bytes")]
pub struct Malformed;

/// The largest value four bytes can hold (256 MiB - 1).
pub const MAX_VARINT: usize = 268_435_455;

/// Decodes a variable byte integer at the start of `bytes`: `Ok(Some((value, length)))`,
/// `Ok(None)` when more bytes are needed, `Err` when it runs past four bytes.
pub fn decode_varint(bytes: &[u8]) -> Result<Option<(usize, usize)>, Malformed> {
    let mut value = 0usize;
    for (i, b) in bytes.iter().enumerate() {
        if i == 4 {
            return Err(Malformed);
        }
        value |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if bytes.len() >= 4 {
        return Err(Malformed);
    }
    Ok(None)
}

/// Appends `value` as a variable byte integer (values above [`MAX_VARINT`] are clamped).
pub fn encode_varint(value: usize, out: &mut Vec<u8>) {
    let mut len = value.min(MAX_VARINT);
    loop {
        #[expect(clippy::cast_possible_truncation, reason = "masked to 7 bits")]
        let mut byte = (len & 0x7F) as u8;
        len >>= 7;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            return;
        }
    }
}

/// The fixed header at the start of `bytes`: `Ok(Some((header_len, remaining)))` once it is
/// complete, `Ok(None)` while more bytes are needed.
pub fn fixed_header(bytes: &[u8]) -> Result<Option<(usize, usize)>, Malformed> {
    if bytes.is_empty() {
        return Ok(None);
    }
    Ok(decode_varint(&bytes[1..])?.map(|(remaining, len)| (1 + len, remaining)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_length_boundary() {
        for value in [
            0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, MAX_VARINT,
        ] {
            let mut buf = Vec::new();
            encode_varint(value, &mut buf);
            assert_eq!(decode_varint(&buf), Ok(Some((value, buf.len()))), "{value}");
            assert_eq!(
                decode_varint(&buf[..buf.len() - 1]),
                Ok(None),
                "{value} cut"
            );
        }
    }

    #[test]
    fn five_continuation_bytes_are_malformed() {
        assert_eq!(decode_varint(&[0x80, 0x80, 0x80, 0x80]), Err(Malformed));
        assert_eq!(
            decode_varint(&[0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
            Err(Malformed)
        );
        assert_eq!(
            decode_varint(&[0xFF, 0xFF, 0xFF, 0x7F]),
            Ok(Some((MAX_VARINT, 4)))
        );
    }

    #[test]
    fn fixed_headers_and_types() {
        assert_eq!(fixed_header(&[0x20, 0x02, 0, 0]), Ok(Some((2, 2))));
        assert_eq!(fixed_header(&[0x30, 0x80]), Ok(None));
        assert_eq!(fixed_header(&[0x30, 0x80, 0x01]), Ok(Some((3, 128))));
        assert_eq!(PacketType::of(0x20), PacketType::Connack);
        assert_eq!(PacketType::of(0x32).name(), "PUBLISH");
        assert_eq!(PacketType::from_number(13), PacketType::Pingresp);
        assert_eq!(PacketType::Suback.number(), 9);
    }
}
