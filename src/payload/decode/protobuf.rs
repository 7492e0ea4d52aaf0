//! Protobuf: .proto files compiled at run time in pure Rust (protox; no `protoc` needed), or a
//! compiled descriptor set (`.pb`, `.desc`), and payloads decoded with prost-reflect into the
//! canonical JSON mapping: enums by name, bytes as base64, Timestamp, Duration and the
//! wrappers formatted; 64-bit integers stay numbers (for people, not for parsers); fields the
//! schema does not know are kept by number (`"#7": …`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use prost_reflect::{
    DescriptorPool, DynamicMessage, Kind as FieldKind, MessageDescriptor, SerializeOptions,
    Value as FieldValue,
};
use serde_json::{Map, Value};

use super::DecodeError;

/// A message type to decode with.
#[derive(Debug, Clone)]
pub struct Proto {
    message: MessageDescriptor,
    /// Fields left at their defaults are shown (proto3 does not send them; a user looking for
    /// `temp` wants to see `0`), except in Sparkplug's proto2 messages, where most fields are
    /// optional and unset.
    show_defaults: bool,
}

impl Proto {
    /// Loads `message` from a .proto file (compiled, imports resolved from the file's own
    /// directory, then `proto_path`, then the well-known types) or a descriptor set.
    pub fn load(file: &Path, message: &str, proto_path: &[PathBuf]) -> Result<Self, String> {
        let shown = file.display();
        let pool = if is_descriptor_set(file) {
            let bytes = std::fs::read(file).map_err(|e| format!("{shown}: {e}"))?;
            DescriptorPool::decode(bytes.as_slice())
                .map_err(|e| format!("{shown}: not a compiled descriptor set: {e}"))?
        } else {
            compile(file, proto_path)?
        };
        let Some(message) = pool.get_message_by_name(message) else {
            let mut known: Vec<String> = pool
                .all_messages()
                .filter(|m| m.parent_message().is_none())
                .map(|m| m.full_name().to_string())
                .collect();
            known.sort();
            known.truncate(12);
            return Err(format!(
                "{shown} has no message {message:?}; it has: {}",
                known.join(", ")
            ));
        };
        Ok(Self {
            message,
            show_defaults: true,
        })
    }

    /// `plant.v1.Telemetry`.
    pub fn message_name(&self) -> &str {
        self.message.full_name()
    }

    pub fn descriptor(&self) -> &MessageDescriptor {
        &self.message
    }

    /// Decodes a payload into JSON.
    pub fn decode(&self, bytes: &[u8]) -> Result<Value, DecodeError> {
        let message = DynamicMessage::decode(self.message.clone(), bytes)
            .map_err(|e| DecodeError(format!("not a {}: {e}", self.message.full_name())))?;
        Ok(to_json(&message, self.show_defaults))
    }

    /// Encodes JSON (the canonical mapping, field names or JSON names) into the binary form.
    pub fn encode(&self, json: &str) -> Result<Vec<u8>, String> {
        let mut de = serde_json::Deserializer::from_str(json);
        let message = DynamicMessage::deserialize(self.message.clone(), &mut de)
            .map_err(|e| format!("not a {}: {e}", self.message.full_name()))?;
        de.end()
            .map_err(|e| format!("not a {}: {e}", self.message.full_name()))?;
        Ok(prost::Message::encode_to_vec(&message))
    }
}

fn is_descriptor_set(file: &Path) -> bool {
    matches!(
        file.extension().and_then(|e| e.to_str()),
        Some("pb" | "desc" | "binpb" | "protoset")
    )
}

/// Compiles a .proto file and what it imports.
fn compile(file: &Path, proto_path: &[PathBuf]) -> Result<DescriptorPool, String> {
    let shown = file.display();
    if !file.is_file() {
        return Err(format!("{shown}: no such file"));
    }
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let includes: Vec<PathBuf> = std::iter::once(dir)
        .chain(proto_path.iter().cloned())
        .collect();
    let mut compiler = protox::Compiler::new(&includes).map_err(|e| located(&e, &includes))?;
    compiler.include_imports(true);
    compiler
        .open_file(file)
        .map_err(|e| located(&e, &includes))?;
    Ok(compiler.descriptor_pool())
}

/// A compile error as `file:line:column: message`, found from the error's span.
fn located(e: &protox::Error, includes: &[PathBuf]) -> String {
    use miette::Diagnostic as _;
    let message = e.to_string();
    let Some(name) = e.file() else {
        return message;
    };
    let offset = e
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|l| l.offset());
    let source = includes
        .iter()
        .find_map(|dir| std::fs::read_to_string(dir.join(name)).ok());
    match (offset, source) {
        (Some(offset), Some(source)) => {
            let before = &source[..offset.min(source.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("{name}:{line}:{column}: {message}")
        }
        _ => format!("{name}: {message}"),
    }
}

/// The JSON of a message, with its unknown fields (at every level) kept by number.
fn to_json(message: &DynamicMessage, show_defaults: bool) -> Value {
    let options = SerializeOptions::new()
        .stringify_64_bit_integers(false)
        .use_proto_field_name(true)
        .skip_default_fields(!show_defaults);
    let mut json = message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or_else(|e| Value::String(format!("(not shown: {e})")));
    add_unknown(message, &mut json);
    json
}

/// Adds the unknown fields of `message` and of the messages inside it to its JSON.
fn add_unknown(message: &DynamicMessage, json: &mut Value) {
    let Value::Object(object) = json else {
        return;
    };
    for field in message.unknown_fields() {
        let mut buf = Vec::new();
        field.encode(&mut buf);
        object.insert(format!("#{}", field.number()), unknown_value(&buf));
    }
    for (desc, value) in message.fields() {
        if !matches!(desc.kind(), FieldKind::Message(_)) {
            continue;
        }
        let Some(slot) = object.get_mut(desc.name()) else {
            continue;
        };
        match (value, slot) {
            (FieldValue::Message(m), slot) => add_unknown(m, slot),
            (FieldValue::List(items), Value::Array(slots)) => {
                for (item, slot) in items.iter().zip(slots) {
                    if let FieldValue::Message(m) = item {
                        add_unknown(m, slot);
                    }
                }
            }
            (FieldValue::Map(entries), Value::Object(slots)) => {
                for (key, item) in entries {
                    let key = match key {
                        prost_reflect::MapKey::String(s) => s.clone(),
                        prost_reflect::MapKey::Bool(b) => b.to_string(),
                        prost_reflect::MapKey::I32(n) => n.to_string(),
                        prost_reflect::MapKey::I64(n) => n.to_string(),
                        prost_reflect::MapKey::U32(n) => n.to_string(),
                        prost_reflect::MapKey::U64(n) => n.to_string(),
                    };
                    if let (FieldValue::Message(m), Some(slot)) = (item, slots.get_mut(&key)) {
                        add_unknown(m, slot);
                    }
                }
            }
            _ => {}
        }
    }
}

/// One unknown field, from its encoding (tag, then value): a varint or fixed number as a
/// number, length-delimited bytes as base64.
fn unknown_value(encoded: &[u8]) -> Value {
    use base64::Engine as _;
    let mut rest = encoded;
    let Some(tag) = varint(&mut rest) else {
        return Value::Null;
    };
    match tag & 7 {
        0 => varint(&mut rest).map_or(Value::Null, Value::from),
        1 => rest
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map_or(Value::Null, |b: [u8; 8]| Value::from(u64::from_le_bytes(b))),
        5 => rest
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map_or(Value::Null, |b: [u8; 4]| Value::from(u32::from_le_bytes(b))),
        2 => {
            let len = varint(&mut rest).unwrap_or(0);
            let bytes = rest
                .get(..usize::try_from(len).unwrap_or(usize::MAX))
                .unwrap_or(rest);
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        _ => Value::Object(Map::from_iter([(
            "group".to_string(),
            Value::String(super::hex(rest)),
        )])),
    }
}

/// A protobuf varint from the front of `buf`, which moves past it.
pub(super) fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = buf.split_first()?;
        *buf = rest;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Sparkplug B's payload, compiled once from the .proto in `assets/`.
pub fn sparkplug() -> Result<&'static Proto, DecodeError> {
    static PROTO: OnceLock<Result<Proto, String>> = OnceLock::new();
    PROTO
        .get_or_init(|| {
            let mut proto = Proto::embedded(
                &[("sparkplug_b.proto", SPARKPLUG_SOURCE)],
                "sparkplug_b.proto",
                "org.eclipse.tahu.protobuf.Payload",
            )?;
            proto.show_defaults = false;
            Ok(proto)
        })
        .as_ref()
        .map_err(|e| DecodeError(format!("Sparkplug B schema: {e}")))
}

const SPARKPLUG_SOURCE: &str = include_str!("../../../assets/proto/sparkplug_b.proto");

impl Proto {
    /// A message from .proto sources built into mqscope (`(name, source)`; imports by name).
    pub fn embedded(
        files: &'static [(&'static str, &'static str)],
        main: &str,
        message: &str,
    ) -> Result<Self, String> {
        let mut compiler = protox::Compiler::with_file_resolver(Embedded(files));
        compiler.include_imports(true);
        compiler.open_file(main).map_err(|e| e.to_string())?;
        let pool = compiler.descriptor_pool();
        let message = pool
            .get_message_by_name(message)
            .ok_or_else(|| format!("no {message} in {main}"))?;
        Ok(Self {
            message,
            show_defaults: true,
        })
    }
}

/// Files built into mqscope.
struct Embedded(&'static [(&'static str, &'static str)]);

impl protox::file::FileResolver for Embedded {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        match self.0.iter().find(|(n, _)| *n == name) {
            Some((_, source)) => protox::file::File::from_source(name, source),
            None => protox::file::GoogleFileResolver::new().open_file(name),
        }
    }
}
