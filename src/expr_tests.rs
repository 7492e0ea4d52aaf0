//! The filter language: what matches, what does not, and errors that name the column.

use serde_json::json;

use super::*;

fn m(expr: &str, value: &Value) -> bool {
    let e = Expr::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let whole = e.matches("usine/温度/室1", Some(value));
    // Reading only the expression's paths out of the text gives the same answer.
    let text = value.to_string();
    let pruned = e.read(text.as_bytes());
    assert_eq!(
        e.matches("usine/温度/室1", pruned.as_ref()),
        whole,
        "{expr}: pruned {pruned:?}"
    );
    whole
}

#[test]
fn comparisons_logic_and_paths() {
    let v = json!({"temp": 31.5, "status": "error", "battery": 12, "online": false,
                   "a": {"b": [{"c": 1}, {"c": "x"}]}, "odd key": 7, "温度": 20, "s": "21.5"});
    for yes in [
        "temp > 30",
        "temp >= 31.5",
        "status == \"error\"",
        "battery < 20 and online == false",
        "battery < 5 or temp > 30",
        "not online",
        "not (temp < 30)",
        "exists(a.b[1].c)",
        "a.b[0].c == 1",
        "a.b[1].c != 1",
        "[\"odd key\"] == 7",
        "温度 == 20",
        "s > 20",
        "s == \"21.5\"",
        "topic ~ \"温度\"",
        "status ~ \"^err\"",
        "temp",
        "-1 < temp",
    ] {
        assert!(m(yes, &v), "{yes}");
    }
    for no in [
        "temp < 30",
        "status == \"ok\"",
        "exists(alarm)",
        "alarm > 1",
        "not (alarm > 1) and alarm == null",
        "online",
        "a.b[9].c == 1",
        "topic ~ \"floor2\"",
        "status > 5",
    ] {
        assert!(!m(no, &v), "{no}");
    }
    assert!(m("x == null", &json!({"x": null})));
    assert!(m("x == true or y", &json!({"x": true})));
}

#[test]
fn a_message_that_is_not_json_matches_no_field_but_can_match_its_topic() {
    let e = Expr::parse("temp > 1").expect("parses");
    assert!(e.uses_payload());
    assert!(!e.matches("a", None));
    let e = Expr::parse("topic ~ \"^plant/\" and not topic ~ \"cmd\"").expect("parses");
    assert!(!e.uses_payload());
    assert!(e.matches("plant/x", None));
    assert!(!e.matches("plant/cmd", None));
}

#[test]
fn errors_name_the_column() {
    let err = |s: &str| Expr::parse(s).expect_err(s).to_string();
    assert_eq!(err(""), "column 1: an empty expression (try: temp > 30)");
    assert_eq!(err("temp >"), "column 7: expected a value after `>`");
    assert_eq!(err("temp = 3"), "column 6: `=` alone: compare with `==`");
    assert_eq!(
        err("temp > 3 xor y"),
        "column 10: `x` here: expected `and`, `or` or the end"
    );
    assert_eq!(err("(temp > 3"), "column 10: expected `)`");
    assert_eq!(
        err("name == \"abc"),
        "column 9: a string that is never closed (a `\"` is missing)"
    );
    assert_eq!(
        err("a ~ 3"),
        "column 5: `~` takes a \"regular expression\" in quotes"
    );
    assert!(err("a ~ \"(\"").starts_with("column 5: not a regular expression"));
    assert_eq!(
        err("a[x] > 1"),
        "column 3: expected an index (0, 1, …) or a \"key\" inside `[ ]`"
    );
    assert_eq!(err("a. > 1"), "column 3: expected a key after `.`");
    assert_eq!(err("温度 > 1e999"), "column 6: `1e999` is not a number");
    assert_eq!(
        err("> 3"),
        "column 1: `>` here: expected a path, a number, a \"string\", true, false or null"
    );
}

#[test]
fn paths_on_their_own() {
    let p = Path::parse("a.b[1].c").expect("a path");
    assert_eq!(p.get(&json!({"a": {"b": [0, {"c": 5}]}})), Some(&json!(5)));
    assert!(Path::parse("a b").is_err());
    assert!(Path::parse("").is_err());
    assert_eq!(Path::parse("[\"x y\"]").expect("quoted").text, "[\"x y\"]");
}

#[test]
fn nan_huge_and_odd_values_never_panic() {
    let v = json!({"n": 1e308, "s": "NaN", "e": "", "arr": [], "o": {}});
    assert!(m("n > 1e307", &v));
    assert!(!m("s > 1", &v), "NaN compares as nothing");
    assert!(m("s != 1", &v));
    assert!(!m("e", &v) && !m("arr", &v) && !m("o", &v));
}

#[test]
fn reading_only_the_paths_keeps_what_they_name() {
    let e = Expr::parse("a.b[2].c > 1 and exists(x) and not y.z").expect("parses");
    let text = r#"{"a":{"b":[0,{"q":1},{"c":5,"d":[1,2]}],"k":"skip"},"x":null,"big":[1,2,3],"y":{"z":false}}"#;
    let v = e.read(text.as_bytes()).expect("JSON");
    assert_eq!(
        v,
        serde_json::json!({"a":{"b":[null,null,{"c":5}]},"x":null,"y":{"z":false}})
    );
    assert!(e.matches("t", Some(&v)));
    assert_eq!(e.read(b"not json"), None);
    assert_eq!(e.read(b"{\"a\":1} trailing"), None);
    // An escaped key is read (and compared) as the text it stands for.
    let e = Expr::parse("été.b == 1").expect("parses");
    let v = e
        .read(br#"{"\u00e9t\u00e9":{"b":1},"other":2}"#)
        .expect("JSON");
    assert_eq!(v.to_string(), r#"{"été":{"b":1}}"#);
}
