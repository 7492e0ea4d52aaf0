#![allow(clippy::unwrap_used, clippy::float_cmp, clippy::cast_precision_loss)]

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn json(text: &str) -> Content<'static> {
    Content::Json(serde_json::from_str(text).unwrap())
}

fn field(text: &str) -> Field {
    Field::parse(text).unwrap()
}

fn labels(content: &Content<'_>) -> Vec<String> {
    leaves(content)
        .into_iter()
        .map(|l| l.field.label().to_string())
        .collect()
}

#[test]
fn leaves_are_listed_in_document_order_with_paths_that_parse_back() {
    let c = json(
        r#"{"id":"a7","temp":21.5,"ok":true,"温度":{"值":3},"odd key":{"x\"y":[1,"2.5","abc",null]},
            "nested":{"deep":[{"v":1}]},"blob":"a long text that is certainly not an enumerated value at all"}"#,
    );
    assert_eq!(
        labels(&c),
        [
            "id",
            "temp",
            "ok",
            "温度.值",
            r#"["odd key"]["x\"y"][0]"#,
            r#"["odd key"]["x\"y"][1]"#,
            r#"["odd key"]["x\"y"][2]"#,
            "nested.deep[0].v",
        ]
    );
    let Content::Json(v) = &c else { unreachable!() };
    for leaf in leaves(&c) {
        // Every listed path reads its leaf back.
        let path = Path::parse(leaf.field.text()).unwrap();
        assert!(path.get(v).is_some(), "{}", leaf.field.text());
    }
    assert_eq!(default_field(&c), Some(field("temp")));
}

#[test]
fn the_default_field_prefers_numbers_then_booleans_then_strings() {
    assert_eq!(
        default_field(&json(r#"{"s":"ON","b":false}"#)),
        Some(field("b"))
    );
    assert_eq!(
        default_field(&json(r#"{"s":"ON","n":"3"}"#)),
        Some(field("n"))
    );
    assert_eq!(default_field(&json(r#"{"s":"ON"}"#)), Some(field("s")));
    assert_eq!(default_field(&json("21.5")), Some(Field::payload()));
    assert_eq!(default_field(&Content::Text("ON")), Some(Field::payload()));
    assert_eq!(default_field(&json(r#"{"a":null,"b":[]}"#)), None);
    assert_eq!(default_field(&Content::Binary), None);
}

#[test]
fn a_huge_object_offers_a_bounded_number_of_leaves() {
    let mut map = serde_json::Map::new();
    for i in 0..10_000 {
        map.insert(format!("k{i}"), json!(i));
    }
    let c = Content::Json(Value::Object(map));
    assert_eq!(leaves(&c).len(), MAX_LEAVES);
    // Deeper than the limit (JSON parsing stops at 128 levels): not looked for.
    let mut deep = json!(1);
    for _ in 0..100 {
        deep = json!({ "a": deep });
    }
    assert!(leaves(&Content::Json(deep)).is_empty());
}

#[test]
fn samples_take_numbers_from_numbers_and_numeric_strings_only() {
    let c = json(
        r#"{"n":21.5,"s":" 22 ","nan":"NaN","inf":"-inf","big":1e300,"t":"abc","b":true,"z":null}"#,
    );
    assert_eq!(sample(&c, &field("n")), Sample::Number(21.5));
    assert_eq!(sample(&c, &field("s")), Sample::Number(22.0));
    assert_eq!(sample(&c, &field("nan")), Sample::Skip);
    assert_eq!(sample(&c, &field("inf")), Sample::Skip);
    assert_eq!(sample(&c, &field("big")), Sample::Number(1e300));
    assert_eq!(sample(&c, &field("t")), Sample::Label("abc".into()));
    assert_eq!(sample(&c, &field("b")), Sample::Bool(true));
    assert_eq!(sample(&c, &field("z")), Sample::Skip);
    assert_eq!(sample(&c, &field("missing")), Sample::Skip);
    assert_eq!(sample(&c, &Field::payload()), Sample::Skip);
    assert_eq!(
        sample(&Content::Text("21.5"), &Field::payload()),
        Sample::Number(21.5)
    );
    assert_eq!(sample(&Content::Text("21.5"), &field("a")), Sample::Skip);
    assert_eq!(sample(&Content::Binary, &Field::payload()), Sample::Skip);
}

#[test]
fn payloads_read_as_json_then_text_then_binary() {
    assert_eq!(read(b"{\"a\":1}", None), json(r#"{"a":1}"#));
    assert_eq!(read(b" 7 ", None), json("7"));
    assert_eq!(read(b"ON\n", None), Content::Text("ON"));
    assert_eq!(read(b"1e400", None), Content::Text("1e400"));
    assert_eq!(read(&[0xff, 0x00], None), Content::Binary);
    assert_eq!(
        sample(&read(b"1e400", None), &Field::payload()),
        Sample::Skip,
        "beyond f64: infinite, skipped"
    );
}

#[test]
fn a_series_counts_what_it_skips_and_keeps_its_capacity() {
    let mut s = Series::new(3);
    for (i, x) in [1.0, 2.0, 3.0, 4.0].into_iter().enumerate() {
        s.push(f64::from(u8::try_from(i).unwrap()), Sample::Number(x));
    }
    s.push(9.0, Sample::Label("abc".into()));
    s.push(9.0, Sample::Skip);
    assert_eq!(
        s.points().iter().map(|p| p.1).collect::<Vec<_>>(),
        [2.0, 3.0, 4.0]
    );
    assert_eq!(s.skipped, 2);
    assert!(!s.steps());
    let st = s.stats().unwrap();
    assert_eq!(
        (st.min, st.max, st.mean, st.last, st.count),
        (2.0, 4.0, 3.0, 4.0, 3)
    );
}

#[test]
fn strings_and_booleans_are_steps_until_a_number_comes() {
    let mut s = Series::new(100);
    s.push(0.0, Sample::Label("idle".into()));
    s.push(1.0, Sample::Label("run".into()));
    s.push(2.0, Sample::Label("idle".into()));
    assert!(s.steps());
    assert_eq!(s.labels(), ["idle", "run"]);
    assert_eq!(
        s.points().iter().map(|p| p.1).collect::<Vec<_>>(),
        [0.0, 1.0, 0.0]
    );
    s.push(3.0, Sample::Number(5.0));
    assert!(!s.steps());
    assert_eq!(s.skipped, 3, "the strings before the first number");
    assert_eq!(s.points().len(), 1);

    let mut b = Series::new(100);
    b.push(0.0, Sample::Bool(true));
    b.push(1.0, Sample::Bool(false));
    assert_eq!(b.labels(), ["false", "true"]);
    assert_eq!(
        b.points().iter().map(|p| p.1).collect::<Vec<_>>(),
        [1.0, 0.0]
    );

    let mut many = Series::new(100);
    for i in 0..40 {
        many.push(f64::from(i), Sample::Label(format!("state {i}")));
    }
    assert_eq!(many.labels().len(), MAX_LABELS);
    assert_eq!(many.skipped, 40 - MAX_LABELS as u64);
}

#[test]
fn the_mean_of_huge_values_does_not_overflow() {
    let st = Stats::of([f64::MAX, f64::MAX, f64::MAX]).unwrap();
    assert_eq!(st.mean, f64::MAX);
    assert!(Stats::of([]).is_none());
}

#[test]
fn downsampling_keeps_each_columns_lowest_and_highest() {
    // 10,000 points of a flat line with one spike up and one down.
    let mut points: Vec<(f64, f64)> = (0..10_000).map(|i| (f64::from(i), 1.0)).collect();
    points[4321].1 = 100.0;
    points[8765].1 = -50.0;
    let out = downsample(points.iter().copied(), (0.0, 9999.0), 80, false);
    assert!(out.len() <= 320, "{}", out.len());
    assert!(out.contains(&(4321.0, 100.0)));
    assert!(out.contains(&(8765.0, -50.0)));
    assert!(out.windows(2).all(|w| w[0].0 <= w[1].0), "in time order");
    assert_eq!(out.first().unwrap().0, 0.0);
    assert_eq!(out.last().unwrap().0, 9999.0);
}

#[test]
fn downsampling_keeps_the_neighbours_outside_the_window_and_small_series_whole() {
    let points = [
        (0.0, 1.0),
        (5.0, 2.0),
        (10.0, 3.0),
        (20.0, 4.0),
        (30.0, 5.0),
    ];
    let out = downsample(points, (6.0, 25.0), 40, false);
    assert_eq!(out, [(5.0, 2.0), (10.0, 3.0), (20.0, 4.0), (30.0, 5.0)]);
    assert_eq!(
        downsample([(1.0, 1.0)], (1.0, 1.0), 10, false),
        [(1.0, 1.0)]
    );
    assert!(downsample([], (0.0, 1.0), 0, true).is_empty());
    let steps = downsample([(0.0, 0.0), (1.0, 1.0), (2.0, 1.0)], (0.0, 2.0), 10, true);
    assert_eq!(steps, [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (2.0, 1.0)]);
}

#[test]
fn scales_map_any_finite_range_and_single_values() {
    let s = Scale {
        low: 10.0,
        high: 20.0,
    };
    assert_eq!(s.position(15.0), 0.5);
    assert_eq!(s.value_at(1.0), 20.0);
    let single = Scale {
        low: 3.0,
        high: 3.0,
    };
    assert_eq!(single.position(3.0), 0.5);
    assert_eq!(single.value_at(0.7), 3.0);
    let huge = Scale {
        low: -f64::MAX,
        high: f64::MAX,
    };
    assert_eq!(huge.position(0.0), 0.5);
    assert_eq!(huge.position(f64::MAX), 1.0);
    assert_eq!(huge.value_at(1.0), f64::MAX);
    let both = Scale::of([Stats::of([1.0, 2.0]).unwrap(), Stats::of([-5.0]).unwrap()]).unwrap();
    assert_eq!((both.low, both.high), (-5.0, 2.0));
}

#[test]
fn numbers_are_short_on_axes() {
    assert_eq!(number(21.5), "21.5");
    assert_eq!(number(21.0), "21");
    assert_eq!(number(0.1234), "0.123");
    assert_eq!(number(123_456.7), "123457");
    assert_eq!(number(1e300), "1.000e300");
    assert_eq!(number(0.0), "0");
    assert_eq!(number(-3.25), "-3.25");
}

proptest! {
    #[test]
    fn any_payload_reads_and_samples_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let c = read(&bytes, None);
        for leaf in leaves(&c) {
            let _ = sample(&c, &leaf.field);
        }
    }

    #[test]
    fn downsampling_never_loses_an_extreme(values in proptest::collection::vec(-1e6f64..1e6, 1..2000), columns in 1usize..200) {
        let points: Vec<(f64, f64)> = values.iter().enumerate().map(|(i, v)| (i as f64, *v)).collect();
        let end = (points.len() - 1) as f64;
        let out = downsample(points.iter().copied(), (0.0, end), columns, false);
        let max = values.iter().copied().fold(f64::MIN, f64::max);
        let min = values.iter().copied().fold(f64::MAX, f64::min);
        prop_assert!(out.iter().any(|p| p.1 == max));
        prop_assert!(out.iter().any(|p| p.1 == min));
        prop_assert!(out.len() <= points.len().max(4 * columns));
    }

    #[test]
    fn keys_of_any_text_make_paths_that_read_back(key in "\\PC{0,12}") {
        let v = json!({ key.clone(): 1 });
        let c = Content::Json(v.clone());
        let all = leaves(&c);
        prop_assert_eq!(all.len(), 1);
        let path = Path::parse(all[0].field.text()).unwrap();
        prop_assert_eq!(path.get(&v), Some(&json!(1)));
    }
}
