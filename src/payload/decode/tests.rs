#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::json;

use super::spec::StepSpec;
use super::*;

/// The binary payload and the broken .proto.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proto")
}

/// The schemas: the demo's, which the tests use too.
fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/proto")
}

fn build(spec: &str) -> Result<Decoder, String> {
    parse_spec(spec)
        .map_err(|e| e.0)?
        .build(Path::new(env!("CARGO_MANIFEST_DIR")), &[schemas()])
        .map_err(|e| e.0)
}

fn value(d: &Decoder, bytes: &[u8]) -> serde_json::Value {
    match d.decode(bytes).unwrap() {
        Decoded::Value(v) => v,
        other @ Decoded::Bytes(..) => panic!("not a value: {other:?}"),
    }
}

#[test]
fn specs_name_a_filter_and_a_chain() {
    let s = parse_spec("plant/+/温度=protobuf:a/b.proto:plant.v1.Telemetry").unwrap();
    assert_eq!(s.filter, "plant/+/温度");
    assert_eq!(
        s.steps,
        [StepSpec::Protobuf {
            file: "a/b.proto".into(),
            message: "plant.v1.Telemetry".into()
        }]
    );
    // No filter: all topics. A Windows path keeps its colon.
    let s = parse_spec(r"protobuf:C:\p\t.proto:.pkg.M").unwrap();
    assert_eq!(s.filter, "#");
    assert_eq!(
        s.steps,
        [StepSpec::Protobuf {
            file: r"C:\p\t.proto".into(),
            message: "pkg.M".into()
        }]
    );
    assert_eq!(
        parse_spec("x/#=base64,cbor").unwrap().steps,
        [StepSpec::Base64, StepSpec::Cbor]
    );
    // A topic that has '=' and ':' in it is still a filter.
    assert_eq!(parse_spec("urn:a=b/#=msgpack").unwrap().filter, "urn:a=b/#");
}

#[test]
fn bad_specs_say_what_is_allowed() {
    let err = |s: &str| parse_spec(s).unwrap_err().0;
    assert!(err("a/#=yaml").contains("\"yaml\" is not a decoder: one of protobuf:"));
    assert!(err("a/#=").contains("no decoder after"));
    assert!(err("a/#/b=cbor").contains("is not a topic filter"));
    assert!(err("base64,base64").contains("base64 can only come first"));
    assert!(err("cbor,base64").contains("nothing can follow cbor"));
    assert!(err("msgpack,cbor").contains("nothing can follow msgpack"));
    assert!(err("protobuf:x.proto").contains("protobuf needs a file and a message"));
    assert!(err("cbor:x").contains("cbor takes no arguments"));
}

#[test]
fn first_matching_filter_wins_and_sparkplug_is_the_default_for_its_namespace() {
    let decoders = Decoders::new(vec![
        ("a/special".into(), build("cbor").unwrap()),
        ("a/#".into(), build("msgpack").unwrap()),
    ]);
    assert_eq!(decoders.for_topic("a/special").unwrap().label(), "cbor");
    assert_eq!(decoders.for_topic("a/b/c").unwrap().label(), "msgpack");
    assert!(decoders.for_topic("b").is_none());
    assert_eq!(
        decoders.for_topic("spBv1.0/g/NDATA/n").unwrap().label(),
        "Sparkplug B"
    );
    // Mapped otherwise, it is that.
    let mapped = Decoders::new(vec![("spBv1.0/#".into(), build("hex").unwrap())]);
    assert_eq!(
        mapped.for_topic("spBv1.0/g/NDATA/n").unwrap().label(),
        "hex"
    );
}

#[derive(serde::Serialize)]
struct Sample {
    name: String,
    temp: f64,
    tags: Vec<String>,
    #[serde(with = "serde_bytes_as_bytes")]
    blob: Vec<u8>,
}

mod serde_bytes_as_bytes {
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
}

fn sample() -> Sample {
    Sample {
        name: "capteur-été-温度".into(),
        temp: 21.5,
        tags: vec!["a".into(), "🔥".into()],
        blob: vec![0, 1, 0xff],
    }
}

#[test]
fn msgpack_and_cbor_from_independent_encoders() {
    let expected = json!({
        "name": "capteur-été-温度",
        "temp": 21.5,
        "tags": ["a", "🔥"],
        "blob": "AAH/"
    });
    let packed = rmp_serde::to_vec_named(&sample()).unwrap();
    assert_eq!(value(&build("msgpack").unwrap(), &packed), expected);
    let mut cbor = Vec::new();
    ciborium::into_writer(&sample(), &mut cbor).unwrap();
    assert_eq!(value(&build("cbor").unwrap(), &cbor), expected);
    // base64 of CBOR, with a line break in it.
    let mut text = base64::engine::general_purpose::STANDARD.encode(&cbor);
    text.insert(10, '\n');
    let d = build("base64,cbor").unwrap();
    assert_eq!(d.label(), "base64,cbor");
    assert_eq!(value(&d, text.as_bytes()), expected);
    // base64 alone: the bytes, for the usual views.
    let plain = base64::engine::general_purpose::STANDARD.encode(br#"{"a":1}"#);
    let got = build("base64").unwrap().decode(plain.as_bytes()).unwrap();
    assert_eq!(got.to_json(), json!({"a": 1}));
}

#[test]
fn odd_values_stay_readable() {
    // MessagePack: an integer key, NaN, an extension type.
    let mut buf = Vec::new();
    rmp::encode::write_map_len(&mut buf, 3).unwrap();
    rmp::encode::write_uint(&mut buf, 7).unwrap();
    rmp::encode::write_str(&mut buf, "seven").unwrap();
    rmp::encode::write_str(&mut buf, "nan").unwrap();
    rmp::encode::write_f64(&mut buf, f64::NAN).unwrap();
    rmp::encode::write_str(&mut buf, "ext").unwrap();
    rmp::encode::write_ext_meta(&mut buf, 2, 5).unwrap();
    buf.extend_from_slice(&[1, 2]);
    assert_eq!(
        value(&build("msgpack").unwrap(), &buf),
        json!({"7": "seven", "nan": "NaN", "ext": {"ext": 5, "data": "AQI="}})
    );
    // CBOR: a tag (1 = epoch time), a 2^64-1 integer.
    let tagged = ciborium::Value::Tag(1, Box::new(ciborium::Value::Integer(1_700_000_000.into())));
    let mut cbor = Vec::new();
    ciborium::into_writer(
        &vec![tagged, ciborium::Value::Integer(u64::MAX.into())],
        &mut cbor,
    )
    .unwrap();
    assert_eq!(
        value(&build("cbor").unwrap(), &cbor),
        json!([{"tag": 1, "value": 1_700_000_000}, u64::MAX])
    );
}

#[test]
fn truncated_corrupt_and_adversarial_input_is_an_error_in_bounded_memory() {
    let msgpack = build("msgpack").unwrap();
    let cbor = build("cbor").unwrap();
    // Declared lengths of 4 G elements with nothing behind them.
    for bytes in [
        &[0xdd, 0xff, 0xff, 0xff, 0xff][..],
        &[0xdf, 0xff, 0xff, 0xff, 0xff],
        &[0xc6, 0xff, 0xff, 0xff, 0xff],
    ] {
        assert!(msgpack.decode(bytes).is_err(), "{bytes:?}");
    }
    for bytes in [
        &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..],
        &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &[0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ] {
        assert!(cbor.decode(bytes).is_err(), "{bytes:?}");
    }
    // Nesting far past the limit.
    assert!(msgpack.decode(&vec![0x91; 100_000]).is_err());
    assert!(cbor.decode(&vec![0x81; 100_000]).is_err());
    // Truncated, trailing bytes, not base64.
    let packed = rmp_serde::to_vec_named(&sample()).unwrap();
    assert!(msgpack.decode(&packed[..packed.len() - 3]).is_err());
    let mut long = packed.clone();
    long.push(0);
    assert!(
        msgpack
            .decode(&long)
            .unwrap_err()
            .0
            .contains("1 bytes left over")
    );
    assert!(
        build("base64,cbor")
            .unwrap()
            .decode(b"%%%")
            .unwrap_err()
            .0
            .starts_with("not base64")
    );
    // Too large to decode at all.
    let huge = vec![0u8; DECODE_LIMIT + 1];
    assert!(cbor.decode(&huge).unwrap_err().0.contains("decode limit"));
}

/// The fixture's types, written as prost's code generator would: an encoder independent of
/// the reflection that decodes.
mod plant {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Reading {
        #[prost(double, tag = "1")]
        pub value: f64,
        #[prost(int32, tag = "2")]
        pub unit: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Timestamp {
        #[prost(int64, tag = "1")]
        pub seconds: i64,
        #[prost(int32, tag = "2")]
        pub nanos: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Location {
        #[prost(string, tag = "1")]
        pub site: String,
        #[prost(int32, tag = "2")]
        pub floor: i32,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Extra {
        #[prost(string, tag = "7")]
        Note(String),
        #[prost(uint32, tag = "8")]
        ErrorCode(u32),
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Telemetry {
        #[prost(string, tag = "1")]
        pub device: String,
        #[prost(message, optional, tag = "2")]
        pub at: Option<Timestamp>,
        #[prost(message, optional, tag = "3")]
        pub temperature: Option<Reading>,
        #[prost(message, repeated, tag = "4")]
        pub pressures: Vec<Reading>,
        #[prost(map = "string, string", tag = "5")]
        pub labels: std::collections::HashMap<String, String>,
        #[prost(int32, tag = "6")]
        pub state: i32,
        #[prost(oneof = "Extra", tags = "7, 8")]
        pub extra: Option<Extra>,
        #[prost(bytes = "vec", tag = "9")]
        pub raw: Vec<u8>,
        #[prost(uint64, tag = "10")]
        pub counter: u64,
        #[prost(message, optional, tag = "11")]
        pub location: Option<Location>,
        /// Not in the .proto: an unknown field to the decoder.
        #[prost(uint32, tag = "99")]
        pub future: u32,
    }
}

pub(crate) fn telemetry_bytes() -> Vec<u8> {
    prost::Message::encode_to_vec(&plant::Telemetry {
        device: "pompe-7/été".into(),
        at: Some(plant::Timestamp {
            seconds: 1_790_000_000,
            nanos: 500_000_000,
        }),
        temperature: Some(plant::Reading {
            value: 21.5,
            unit: 1,
        }),
        pressures: vec![
            plant::Reading {
                value: 1.5,
                unit: 2,
            },
            plant::Reading {
                value: 1.75,
                unit: 2,
            },
        ],
        labels: [("zone".to_string(), "温度".to_string())].into(),
        state: 1,
        extra: Some(plant::Extra::ErrorCode(42)),
        raw: vec![0xde, 0xad],
        counter: u64::MAX,
        location: Some(plant::Location {
            site: "nord".into(),
            floor: -1,
        }),
        future: 7,
    })
}

#[test]
fn protobuf_from_a_multi_file_proto_with_imports() {
    let d = build("protobuf:assets/proto/plant/v1/telemetry.proto:plant.v1.Telemetry").unwrap();
    assert_eq!(d.label(), "protobuf plant.v1.Telemetry");
    let v = value(&d, &telemetry_bytes());
    assert_eq!(v["device"], "pompe-7/été");
    assert_eq!(v["at"], "2026-09-21T14:13:20.500Z");
    assert_eq!(v["temperature"], json!({"value": 21.5, "unit": "CELSIUS"}));
    assert_eq!(v["pressures"][1], json!({"value": 1.75, "unit": "BAR"}));
    assert_eq!(v["labels"], json!({"zone": "温度"}));
    assert_eq!(v["state"], "RUNNING");
    assert_eq!(v["error_code"], 42);
    assert_eq!(v["raw"], "3q0=");
    assert_eq!(v["counter"], json!(u64::MAX));
    assert_eq!(v["location"], json!({"site": "nord", "floor": -1}));
    assert_eq!(v["#99"], 7, "unknown fields kept by number: {v}");
    // Encoding goes back to the same bytes' meaning.
    let proto = match &d.steps[0] {
        Step::Protobuf(p) => p.clone(),
        _ => unreachable!(),
    };
    let again = proto
        .encode(&v.to_string().replace(",\"#99\":7", ""))
        .unwrap();
    let mut v2 = value(&d, &again);
    v2.as_object_mut().unwrap().insert("#99".into(), json!(7));
    assert_eq!(v2, v);
}

#[test]
fn protobuf_errors_name_the_file_line_and_column() {
    let err = build("protobuf:tests/fixtures/proto/broken.proto:broken.M").unwrap_err();
    assert!(err.starts_with("broken.proto:5:"), "{err}");
    let err = build("protobuf:tests/fixtures/proto/none.proto:a.B").unwrap_err();
    assert!(err.contains("none.proto: no such file"), "{err}");
    let err = build("protobuf:assets/proto/plant/v1/telemetry.proto:plant.v1.Nope").unwrap_err();
    assert!(
        err.contains("has no message \"plant.v1.Nope\"; it has: ")
            && err.contains("plant.v1.Telemetry"),
        "{err}"
    );
    // Without the include path the import is not found, and the error says which.
    let spec = parse_spec("protobuf:assets/proto/plant/v1/telemetry.proto:plant.v1.T").unwrap();
    let err = spec
        .build(Path::new(env!("CARGO_MANIFEST_DIR")), &[])
        .unwrap_err()
        .0;
    assert!(err.contains("plant/common/units.proto"), "{err}");
    // Garbage in place of a message: an error, never a panic.
    let d = build("protobuf:assets/proto/plant/v1/telemetry.proto:plant.v1.Telemetry").unwrap();
    for bytes in [&[0xff, 0xff, 0xff][..], &[0x0a, 0xff, 0x01], &[0x12; 64]] {
        assert!(d.decode(bytes).is_err(), "{bytes:?}");
    }
    let deep: Vec<u8> = std::iter::repeat_n([0x5a, 0x02], 10_000)
        .flatten()
        .collect();
    let _ = d.decode(&deep);
}

#[test]
fn sparkplug_b_decodes_with_the_built_in_schema() {
    // NDATA with two metrics by alias, written field by field.
    let metric = |alias: u8, value: u8| vec![0x10, alias, 0x20, 3, 0x50, value];
    let mut payload = vec![0x08, 0x96, 0x01]; // timestamp 150
    for (alias, v) in [(1, 20), (2, 7)] {
        let m = metric(alias, v);
        payload.push(0x12);
        payload.push(u8::try_from(m.len()).unwrap());
        payload.extend(m);
    }
    payload.extend([0x18, 17]); // seq 17
    let d = Decoders::new(vec![]);
    let v = value(d.for_topic("spBv1.0/g/NDATA/edge").unwrap(), &payload);
    assert_eq!(v["seq"], 17);
    assert_eq!(v["timestamp"], 150);
    assert_eq!(
        v["metrics"],
        json!([
            {"alias": 1, "datatype": 3, "int_value": 20},
            {"alias": 2, "datatype": 3, "int_value": 7}
        ])
    );
}

/// The binary fixture the CLI and explorer tests publish is this encoder's output
/// (`MQSCOPE_WRITE_FIXTURES=1 cargo test --lib fixture` rewrites it).
#[test]
fn the_binary_fixture_is_the_independent_encoders_output() {
    let path = fixtures().join("telemetry.bin");
    if std::env::var_os("MQSCOPE_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, telemetry_bytes()).unwrap();
    }
    assert_eq!(std::fs::read(&path).unwrap(), telemetry_bytes());
}

fn sp(json: &serde_json::Value) -> Vec<u8> {
    sparkplug_schema()
        .unwrap()
        .encode(&json.to_string())
        .unwrap()
}

#[test]
fn sparkplug_births_name_later_data_and_seq_gaps_are_found() {
    use super::sparkplug::{SeqGap, Sparkplug, parse_topic};
    let at = std::time::SystemTime::UNIX_EPOCH;
    let mut state = Sparkplug::default();
    let node = "spBv1.0/usine-été/NBIRTH/nœud-1";
    let birth = sp(&json!({"seq": 0, "metrics": [
        {"name": "bdSeq", "datatype": 4, "long_value": 3},
        {"name": "Température", "alias": 1, "datatype": 10, "double_value": 20.5},
        {"name": "温度/2", "alias": 2, "datatype": 3, "int_value": 7},
    ]}));
    assert_eq!(state.observe(node, &birth, at), None);
    let dbirth = sp(&json!({"seq": 1, "metrics": [
        {"name": "Running", "alias": 1, "datatype": 11, "boolean_value": true},
    ]}));
    assert_eq!(
        state.observe("spBv1.0/usine-été/DBIRTH/nœud-1/presse", &dbirth, at),
        None
    );
    // Data by alias: named from the node's birth, the device's from its own.
    let data = sp(
        &json!({"seq": 2, "metrics": [{"alias": 2, "int_value": 9}, {"alias": 9, "int_value": 1}]}),
    );
    let topic = "spBv1.0/usine-été/NDATA/nœud-1";
    assert_eq!(state.observe(topic, &data, at), None);
    let mut v = sparkplug_schema().unwrap().decode(&data).unwrap();
    state.annotate(topic, &mut v);
    assert_eq!(v["metrics"][0]["name"], "温度/2");
    assert_eq!(v["metrics"][0]["datatype_name"], "Int32");
    assert!(
        v["metrics"][1].get("name").is_none(),
        "an alias no birth named"
    );
    let device_data = sp(&json!({"seq": 3, "metrics": [{"alias": 1, "boolean_value": false}]}));
    let dtopic = "spBv1.0/usine-été/DDATA/nœud-1/presse";
    state.observe(dtopic, &device_data, at);
    let mut v = sparkplug_schema().unwrap().decode(&device_data).unwrap();
    state.annotate(dtopic, &mut v);
    assert_eq!(v["metrics"][0]["name"], "Running");
    assert_eq!(v["metrics"][0]["datatype_name"], "Boolean");
    // seq 4 and 5 lost.
    let late = sp(&json!({"seq": 6, "metrics": []}));
    assert_eq!(
        state.observe(topic, &late, at),
        Some(SeqGap {
            expected: 4,
            got: 6
        })
    );
    // After our own link was lost, the next seq is not checked.
    state.link_lost();
    assert_eq!(state.observe(topic, &sp(&json!({"seq": 40})), at), None);
    assert_eq!(state.observe(topic, &sp(&json!({"seq": 41})), at), None);
    // 255 wraps to 0.
    state.observe(topic, &sp(&json!({"seq": 255})), at);
    assert_eq!(state.observe(topic, &sp(&json!({"seq": 0})), at), None);
    let (_, name, n) = state.node_of(topic).unwrap();
    assert_eq!((name, n.bd_seq, n.gaps), ("nœud-1", Some(3), 2));
    assert!(n.endpoint.online && n.devices["presse"].online);
    assert_eq!(n.endpoint.names, 3);
    // The broker's will: the node and its devices go offline.
    state.observe(
        "spBv1.0/usine-été/NDEATH/nœud-1",
        &sp(&json!({"metrics": [{"name": "bdSeq", "long_value": 3}]})),
        at,
    );
    let (_, _, n) = state.node_of(topic).unwrap();
    assert!(!n.endpoint.online && !n.devices["presse"].online);
    // Not Sparkplug topics, garbage payloads: nothing, no panic.
    assert!(parse_topic("spBv1.0/g").is_none());
    assert!(parse_topic("spBv1.0/g/NDATA/n/d/extra").is_none());
    assert_eq!(
        state.observe("spBv1.0/g/NDATA/n", &[0xff, 0xff, 0xff], at),
        None
    );
    assert_eq!(state.observe("spBv1.0/g/NBIRTH/n", &[0x12, 0xff], at), None);
}

#[test]
fn a_compiled_descriptor_set_is_accepted_too() {
    let mut compiler = protox::Compiler::new([schemas()]).unwrap();
    compiler.include_imports(true);
    compiler.open_file("plant/v1/telemetry.proto").unwrap();
    let dir = std::env::temp_dir().join(format!("mqscope-desc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let desc = dir.join("plant.desc");
    std::fs::write(&desc, compiler.encode_file_descriptor_set()).unwrap();
    let spec = parse_spec(&format!("protobuf:{}:plant.v1.Telemetry", desc.display())).unwrap();
    let d = spec.build(Path::new(""), &[]).unwrap();
    assert_eq!(value(&d, &telemetry_bytes())["state"], "RUNNING");
    // Not a descriptor set: said, with the file.
    std::fs::write(&desc, b"\xff\xff not protobuf").unwrap();
    let err = spec.build(Path::new(""), &[]).unwrap_err().0;
    assert!(
        err.contains("plant.desc: not a compiled descriptor set"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
