//! JSON into `serde_json::Value` for the alerts' hot path: the same value serde_json builds,
//! with each object's map sized once from its entries (serde_json grows it one insert at a
//! time: two or three reallocations of the entries and of the hash table for a small
//! object); and [`value_into`], which parses a topic's next payload into the value of its
//! last one: a device sends the same keys in the same order every time, so the keys, the map
//! and the strings are kept and only the values change (no allocation, no hashing).

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses a whole payload; trailing non-whitespace is an error, as with `from_slice`.
pub fn value(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = Seed.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// Parses a payload into `target`, reusing what matches; on an error `target` is left in no
/// particular state (the caller drops it).
pub fn value_into(bytes: &[u8], target: &mut Value) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    InPlace(target).deserialize(&mut de)?;
    de.end()
}

#[derive(Clone, Copy)]
struct Seed;

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(v) = seq.next_element_seed(Seed)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut pairs: Vec<(String, Value)> = Vec::with_capacity(8);
        while let Some(key) = map.next_key::<String>()? {
            let v = map.next_value_seed(Seed)?;
            pairs.push((key, v));
        }
        // One allocation each for the entries and the table; a repeated key keeps its first
        // place and its last value, as serde_json's own map does.
        let mut out = Map::with_capacity(pairs.len());
        for (k, v) in pairs {
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// A map key as the parser hands it: borrowed from the payload when it has no escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }

    fn into_string(self) -> String {
        match self {
            Key::Borrowed(s) => s.to_string(),
            Key::Owned(s) => s,
        }
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Key<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key::Owned(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key::Owned(v))
    }
}

/// Parses into an existing value.
struct InPlace<'a>(&'a mut Value);

impl<'de> DeserializeSeed<'de> for InPlace<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for InPlace<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        *self.0 = Value::Bool(v);
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        *self.0 = Value::Number(v.into());
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        *self.0 = Value::Number(v.into());
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        *self.0 = Number::from_f64(v).map_or(Value::Null, Value::Number);
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        match self.0 {
            Value::String(s) => {
                s.clear();
                s.push_str(v);
            }
            other => *other = Value::String(v.to_string()),
        }
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        *self.0 = Value::Null;
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        *self.0 = Value::Null;
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if !self.0.is_array() {
            *self.0 = Value::Array(Vec::new());
        }
        let Value::Array(items) = self.0 else {
            return Ok(());
        };
        let mut n = 0;
        loop {
            let more = if let Some(item) = items.get_mut(n) {
                seq.next_element_seed(InPlace(item))?.is_some()
            } else if let Some(v) = seq.next_element_seed(Seed)? {
                items.push(v);
                true
            } else {
                false
            };
            if !more {
                break;
            }
            n += 1;
        }
        items.truncate(n);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if !self.0.is_object() {
            *self.0 = Value::Object(Map::new());
        }
        let Value::Object(obj) = self.0 else {
            return Ok(());
        };
        // The keys as they were, in order, while they keep coming the same.
        let mut same = 0;
        let mut first_new = None;
        {
            let mut cursor = obj.iter_mut();
            while let Some(key) = map.next_key_seed(KeySeed)? {
                match cursor.next() {
                    Some((k, v)) if k.as_str() == key.as_str() => {
                        map.next_value_seed(InPlace(v))?;
                        same += 1;
                    }
                    _ => {
                        first_new = Some((key.into_string(), map.next_value_seed(Seed)?));
                        break;
                    }
                }
            }
        }
        let Some(first_new) = first_new else {
            // Fewer keys than last time: the rest go.
            if same < obj.len() {
                let mut n = 0;
                obj.retain(|_, _| {
                    n += 1;
                    n <= same
                });
            }
            return Ok(());
        };
        // Another shape: keep the matching start, insert the rest as serde_json would.
        let mut rebuilt: Map<String, Value> = std::mem::take(obj).into_iter().take(same).collect();
        rebuilt.insert(first_new.0, first_new.1);
        while let Some(key) = map.next_key::<String>()? {
            let v = map.next_value_seed(Seed)?;
            rebuilt.insert(key, v);
        }
        *obj = rebuilt;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_same_value_as_serde_json_or_the_same_refusal() {
        for text in [
            r#"{"seq":1,"temp":21.5,"state":"ok","battery":88,"a":[1,{"b":null}],"温度":true}"#,
            r#"{"k":1,"k":2,"j":3}"#,
            "[]",
            "12",
            "-1.5e400",
            r#""\u001b[2J""#,
            "{",
            "{} x",
            "",
        ] {
            let ours = value(text.as_bytes()).map_err(|e| e.to_string());
            let theirs = serde_json::from_str::<Value>(text).map_err(|e| e.to_string());
            assert_eq!(ours, theirs, "{text:?}");
            if let (Ok(Value::Object(a)), Ok(Value::Object(b))) = (&ours, &theirs) {
                assert!(a.keys().eq(b.keys()), "order kept: {text}");
            }
        }
    }

    #[test]
    fn parsing_into_the_last_value_gives_what_a_fresh_parse_gives() {
        let texts = [
            r#"{"seq":1,"temp":21.5,"state":"ok","a":[1,2,3],"o":{"x":1}}"#,
            r#"{"seq":2,"temp":22,"state":"okay","a":[4],"o":{"x":"s","y":null}}"#,
            r#"{"seq":3,"state":"ok","temp":1}"#,
            r#"{"seq":4}"#,
            r#"{"seq":5,"seq":6,"温度":"\u001b"}"#,
            "[1,2]",
            r#"{"seq":7,"temp":21.5,"state":"ok","a":[1,2,3],"o":{"x":1}}"#,
        ];
        let mut last = Value::Null;
        for text in texts {
            value_into(text.as_bytes(), &mut last).unwrap();
            let fresh: Value = serde_json::from_str(text).unwrap();
            assert_eq!(last, fresh, "{text}");
            if let (Value::Object(a), Value::Object(b)) = (&last, &fresh) {
                assert!(a.keys().eq(b.keys()), "order: {text}");
            }
        }
    }

    proptest! {
        #[test]
        fn any_bytes_parse_as_serde_json_does(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let ours = value(&bytes).ok();
            let theirs = serde_json::from_slice::<Value>(&bytes).ok();
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn any_pair_of_payloads_parses_into_the_first_as_fresh(
            a in "[{}\\[\\]\"a-c0-9:,. ]{0,40}",
            b in "[{}\\[\\]\"a-c0-9:,. ]{0,40}",
        ) {
            let mut last = value(a.as_bytes()).unwrap_or(Value::Null);
            let fresh = serde_json::from_str::<Value>(&b).ok();
            let ours = value_into(b.as_bytes(), &mut last).ok().map(|()| last);
            prop_assert_eq!(ours, fresh);
        }
    }
}
