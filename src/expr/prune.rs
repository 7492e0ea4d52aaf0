//! Reading only what an expression looks at: JSON text into a `Value` that holds the values on
//! the expression's paths and nothing else. Skipped parts are parsed but never built, which is
//! most of the cost of a filter over 100k last values.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{Path, Step};

/// The paths of an expression as a tree: a leaf takes the whole value there.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    leaf: bool,
    keys: HashMap<String, Tree>,
    indexes: HashMap<usize, Tree>,
}

impl Tree {
    pub fn add(&mut self, path: &Path) {
        let mut at = self;
        for step in &path.steps {
            if at.leaf {
                return;
            }
            at = match step {
                Step::Key(k) => at.keys.entry(k.clone()).or_default(),
                Step::Index(i) => at.indexes.entry(*i).or_default(),
            };
        }
        at.leaf = true;
        at.keys.clear();
        at.indexes.clear();
    }

    /// The JSON text's values on the paths; `None` when it is not JSON.
    pub fn read(&self, bytes: &[u8]) -> Option<Value> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value = self.deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(value)
    }
}

impl<'de> DeserializeSeed<'de> for &Tree {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.leaf {
            return Value::deserialize(d);
        }
        d.deserialize_any(Prune(self))
    }
}

struct Prune<'t>(&'t Tree);

/// A key, borrowed when the text has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = std::borrow::Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(v.into())
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(v.to_string().into())
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Visitor<'de> for Prune<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(Key)? {
            match self.0.keys.get(key.as_ref()) {
                Some(sub) => {
                    let v = map.next_value_seed(sub)?;
                    out.insert(key.into_owned(), v);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        let last = self.0.indexes.keys().max().copied();
        let mut i = 0;
        loop {
            // Skipped elements keep their places as nulls, up to the last index wanted.
            let got = match self.0.indexes.get(&i) {
                Some(sub) => seq.next_element_seed(sub)?,
                None => seq.next_element::<IgnoredAny>()?.map(|_| Value::Null),
            };
            let Some(v) = got else { break };
            if last.is_some_and(|l| i <= l) {
                out.push(v);
            }
            i += 1;
        }
        Ok(Value::Array(out))
    }
}
