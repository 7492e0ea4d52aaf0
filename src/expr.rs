//! The filter language of the explorer's `/` and of `sub --where`: comparisons over a
//! message's JSON value (or its decoded value) and its topic, compiled once.
//!
//! ```text
//! expr   := and ("or" and)*
//! and    := unary ("and" unary)*
//! unary  := "not" unary | cmp
//! cmp    := value (("==" | "!=" | "<" | "<=" | ">" | ">=" | "~") value)?
//! value  := number | "string" | true | false | null | "(" expr ")"
//!         | "exists" "(" path ")" | "topic" | path
//! path   := key ("." key | "[" index "]" | "[" "string" "]")*      a.b[0].c, ["odd key"]
//! ```
//!
//! A path that is not there, or a message that is not JSON, makes every comparison on it
//! false. Numbers compare as numbers, also against strings that hold one (`"21.5" > 20`);
//! strings compare as text; `~` is a regular expression search; a bare path is true when its
//! value is `true`, a non-zero number or a non-empty string.

mod prune;

use std::fmt;

use serde_json::Value;

/// A path into a JSON value: `a.b[0].c`, `["key with spaces"].x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub text: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

impl Path {
    /// Parses a path on its own (`--field`): the whole text must be one path.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut p = Parser::new(text);
        let path = p.path().map_err(|e| e.to_string())?;
        if p.peek().is_some() {
            return Err(p.error("more after the path").to_string());
        }
        Ok(path)
    }

    pub fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.steps.iter().try_fold(value, |v, step| match step {
            Step::Key(k) => key(v, k),
            Step::Index(i) => v.get(*i),
        })
    }
}

/// A key of an object: small objects (most payloads) are scanned, which costs less than
/// hashing the key; larger ones are looked up.
fn key<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    let map = value.as_object()?;
    if map.len() <= 8 {
        map.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// Where and why an expression does not parse; the column counts characters from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
}

#[derive(Debug, Clone)]
enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    Cmp(Operand, Op, Operand),
    Truthy(Operand),
    Exists(Path),
}

#[derive(Debug, Clone)]
enum Operand {
    Literal(Value),
    Path(Path),
    Topic,
    /// The right side of `~`, compiled.
    Regex(Box<regex::Regex>),
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub struct Expr {
    pub text: String,
    root: Node,
    payload: bool,
    /// The paths it reads, to read only those out of a payload.
    paths: prune::Tree,
    /// The same, as written, first use first (for [`Expr::values`]).
    listed: Vec<Path>,
}

impl Expr {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut p = Parser::new(text);
        if p.peek().is_none() {
            return Err(p.error("an empty expression (try: temp > 30)"));
        }
        let root = p.or()?;
        if let Some(c) = p.peek() {
            return Err(p.error(&format!("`{c}` here: expected `and`, `or` or the end")));
        }
        let payload = uses_payload(&root);
        let mut listed = Vec::new();
        collect_paths(&root, &mut |p: &Path| {
            if !listed.contains(p) {
                listed.push(p.clone());
            }
        });
        let mut paths = prune::Tree::default();
        for p in &listed {
            paths.add(p);
        }
        Ok(Self {
            text: text.to_string(),
            root,
            payload,
            paths,
            listed,
        })
    }

    /// The payload's JSON as far as the expression reads it (`None`: not JSON): cheaper than
    /// the whole value when the payload holds more than the expression looks at.
    pub fn read(&self, payload: &[u8]) -> Option<Value> {
        self.paths.read(payload)
    }

    /// Whether evaluating needs the payload's value (a path, `exists`), not the topic only.
    pub fn uses_payload(&self) -> bool {
        self.payload
    }

    /// What the expression read in a value: the value on its one path, or an object of
    /// path → value when it reads several (`null` for a path that is not there).
    pub fn values(&self, value: Option<&Value>) -> Value {
        let get = |p: &Path| value.and_then(|v| p.get(v)).cloned().unwrap_or(Value::Null);
        match self.listed.as_slice() {
            [] => Value::Null,
            [one] => get(one),
            many => Value::Object(many.iter().map(|p| (p.text.clone(), get(p))).collect()),
        }
    }

    /// Whether a message matches: its topic, and its JSON value when it has one.
    pub fn matches(&self, topic: &str, value: Option<&Value>) -> bool {
        eval(&self.root, topic, value)
    }
}

fn uses_payload(node: &Node) -> bool {
    match node {
        Node::Or(v) | Node::And(v) => v.iter().any(uses_payload),
        Node::Not(n) => uses_payload(n),
        Node::Cmp(a, _, b) => is_path(a) || is_path(b),
        Node::Truthy(a) => is_path(a),
        Node::Exists(_) => true,
    }
}

fn collect_paths(node: &Node, found: &mut impl FnMut(&Path)) {
    let mut operand = |o: &Operand| {
        if let Operand::Path(p) = o {
            found(p);
        }
    };
    match node {
        Node::Or(v) | Node::And(v) => v.iter().for_each(|n| collect_paths(n, found)),
        Node::Not(n) => collect_paths(n, found),
        Node::Cmp(a, _, b) => {
            operand(a);
            operand(b);
        }
        Node::Truthy(a) => operand(a),
        Node::Exists(p) => found(p),
    }
}

fn is_path(o: &Operand) -> bool {
    matches!(o, Operand::Path(_))
}

enum Got<'a> {
    Value(&'a Value),
    Text(&'a str),
    Missing,
}

fn operand<'a>(o: &'a Operand, topic: &'a str, value: Option<&'a Value>) -> Got<'a> {
    match o {
        Operand::Literal(v) => Got::Value(v),
        Operand::Topic => Got::Text(topic),
        Operand::Path(p) => value
            .and_then(|v| p.get(v))
            .map_or(Got::Missing, Got::Value),
        Operand::Regex(_) => Got::Missing,
    }
}

/// A number, from a JSON number or a string that holds one.
fn number(g: &Got<'_>) -> Option<f64> {
    match g {
        Got::Value(Value::Number(n)) => n.as_f64(),
        Got::Value(Value::String(s)) => s.trim().parse().ok(),
        Got::Text(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text<'a>(g: &Got<'a>) -> Option<&'a str> {
    match g {
        Got::Value(Value::String(s)) => Some(s),
        Got::Text(s) => Some(s),
        _ => None,
    }
}

fn eval(node: &Node, topic: &str, value: Option<&Value>) -> bool {
    match node {
        Node::Or(v) => v.iter().any(|n| eval(n, topic, value)),
        Node::And(v) => v.iter().all(|n| eval(n, topic, value)),
        Node::Not(n) => !eval(n, topic, value),
        Node::Exists(p) => value.and_then(|v| p.get(v)).is_some(),
        Node::Truthy(o) => match operand(o, topic, value) {
            Got::Value(Value::Bool(b)) => *b,
            Got::Value(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            Got::Value(Value::String(s)) => !s.is_empty(),
            Got::Text(s) => !s.is_empty(),
            Got::Value(Value::Array(a)) => !a.is_empty(),
            Got::Value(Value::Object(o)) => !o.is_empty(),
            _ => false,
        },
        Node::Cmp(a, Op::Match, Operand::Regex(re)) => {
            let a = operand(a, topic, value);
            match (&a, text(&a)) {
                (_, Some(s)) => re.is_match(s),
                (Got::Value(v @ (Value::Number(_) | Value::Bool(_))), _) => {
                    re.is_match(&v.to_string())
                }
                _ => false,
            }
        }
        Node::Cmp(a, op, b) => compare(&operand(a, topic, value), *op, &operand(b, topic, value)),
    }
}

fn compare(a: &Got<'_>, op: Op, b: &Got<'_>) -> bool {
    if matches!(a, Got::Missing) || matches!(b, Got::Missing) {
        return false;
    }
    let ordering = if let (Some(x), Some(y)) = (number(a), number(b)) {
        // Both numbers, or a number and a string that holds one.
        let numeric =
            matches!(a, Got::Value(Value::Number(_))) || matches!(b, Got::Value(Value::Number(_)));
        if numeric {
            x.partial_cmp(&y)
        } else {
            text(a).zip(text(b)).map(|(s, t)| s.cmp(t))
        }
    } else if let (Some(s), Some(t)) = (text(a), text(b)) {
        Some(s.cmp(t))
    } else {
        let (Got::Value(x), Got::Value(y)) = (a, b) else {
            return false;
        };
        return match op {
            Op::Eq => x == y,
            Op::Ne => x != y,
            _ => false,
        };
    };
    let Some(o) = ordering else {
        return op == Op::Ne;
    };
    match op {
        Op::Eq => o.is_eq(),
        Op::Ne => o.is_ne(),
        Op::Lt => o.is_lt(),
        Op::Le => o.is_le(),
        Op::Gt => o.is_gt(),
        Op::Ge => o.is_ge(),
        Op::Match => false,
    }
}

/// A hand-written recursive-descent parser over characters, so errors can name columns.
struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn new(text: &str) -> Self {
        Self {
            chars: text.chars().collect(),
            at: 0,
        }
    }

    fn error(&self, message: &str) -> ParseError {
        ParseError {
            column: self.at + 1,
            message: message.to_string(),
        }
    }

    fn skip_space(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.chars.get(self.at).copied()
    }

    fn eat(&mut self, s: &str) -> bool {
        self.skip_space();
        let n = s.chars().count();
        let here: String = self.chars.iter().skip(self.at).take(n).collect();
        if here != s {
            return false;
        }
        // A keyword must end where a word would.
        let word = s.chars().all(char::is_alphabetic);
        if word && self.chars.get(self.at + n).is_some_and(|c| is_key_char(*c)) {
            return false;
        }
        self.at += n;
        true
    }

    fn or(&mut self) -> Result<Node, ParseError> {
        let mut items = vec![self.and()?];
        while self.eat("or") {
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::Or(items)
        })
    }

    fn and(&mut self) -> Result<Node, ParseError> {
        let mut items = vec![self.unary()?];
        while self.eat("and") {
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::And(items)
        })
    }

    fn unary(&mut self) -> Result<Node, ParseError> {
        if self.eat("not") {
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        self.cmp()
    }

    fn op(&mut self) -> Option<Op> {
        for (s, op) in [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("<", Op::Lt),
            (">", Op::Gt),
            ("~", Op::Match),
        ] {
            if self.eat(s) {
                return Some(op);
            }
        }
        None
    }

    fn cmp(&mut self) -> Result<Node, ParseError> {
        if self.eat("(") {
            let inner = self.or()?;
            if !self.eat(")") {
                return Err(self.error("expected `)`"));
            }
            return Ok(inner);
        }
        if self.eat("exists") {
            if !self.eat("(") {
                return Err(self.error("expected `(` after exists"));
            }
            let path = self.path()?;
            if !self.eat(")") {
                return Err(self.error("expected `)` after the path"));
            }
            return Ok(Node::Exists(path));
        }
        let left = self.value()?;
        let op_at = self.at;
        let Some(op) = self.op() else {
            if self.peek() == Some('=') {
                return Err(self.error("`=` alone: compare with `==`"));
            }
            return Ok(Node::Truthy(left));
        };
        if self.peek().is_none() {
            return Err(self.error(&format!(
                "expected a value after `{}`",
                self.chars[op_at..self.at].iter().collect::<String>().trim()
            )));
        }
        let right_at = self.at;
        let right = self.value()?;
        if op == Op::Match {
            let Operand::Literal(Value::String(pattern)) = right else {
                return Err(ParseError {
                    column: right_at + 1,
                    message: "`~` takes a \"regular expression\" in quotes".into(),
                });
            };
            let re = regex::RegexBuilder::new(&pattern)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| ParseError {
                    column: right_at + 1,
                    message: format!(
                        "not a regular expression: {}",
                        e.to_string().lines().last().unwrap_or_default()
                    ),
                })?;
            return Ok(Node::Cmp(left, op, Operand::Regex(Box::new(re))));
        }
        Ok(Node::Cmp(left, op, right))
    }

    fn value(&mut self) -> Result<Operand, ParseError> {
        let Some(c) = self.peek() else {
            return Err(self.error("expected a value"));
        };
        if c == '"' {
            return Ok(Operand::Literal(Value::String(self.string()?)));
        }
        if c.is_ascii_digit() || c == '-' || c == '.' {
            return self.number();
        }
        for (word, v) in [
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Null),
        ] {
            if self.eat(word) {
                return Ok(Operand::Literal(v));
            }
        }
        if self.eat("topic") {
            return Ok(Operand::Topic);
        }
        if is_key_char(c) || c == '[' {
            return self.path().map(Operand::Path);
        }
        Err(self.error(&format!(
            "`{c}` here: expected a path, a number, a \"string\", true, false or null"
        )))
    }

    fn number(&mut self) -> Result<Operand, ParseError> {
        let start = self.at;
        let mut end = self.at;
        while self
            .chars
            .get(end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
        {
            end += 1;
        }
        let text: String = self.chars[start..end].iter().collect();
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => {
                self.at = end;
                let v = serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number);
                Ok(Operand::Literal(v))
            }
            _ => Err(self.error(&format!("`{text}` is not a number"))),
        }
    }

    fn string(&mut self) -> Result<String, ParseError> {
        let start = self.at;
        self.at += 1;
        let mut out = String::new();
        loop {
            match self.chars.get(self.at) {
                None => {
                    self.at = start;
                    return Err(self.error("a string that is never closed (a `\"` is missing)"));
                }
                Some('"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    match self.chars.get(self.at + 1) {
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some(c @ ('"' | '\\')) => out.push(*c),
                        // Anything else stays as written (a regex's `\d`).
                        Some(c) => {
                            out.push('\\');
                            out.push(*c);
                        }
                        None => {}
                    }
                    self.at += 2;
                }
                Some(c) => {
                    out.push(*c);
                    self.at += 1;
                }
            }
        }
    }

    fn path(&mut self) -> Result<Path, ParseError> {
        self.skip_space();
        let start = self.at;
        let mut steps = Vec::new();
        loop {
            let here = self.chars.get(self.at).copied();
            match here {
                Some('[') => {
                    self.at += 1;
                    if self.chars.get(self.at) == Some(&'"') {
                        steps.push(Step::Key(self.string()?));
                    } else {
                        let from = self.at;
                        while self.chars.get(self.at).is_some_and(char::is_ascii_digit) {
                            self.at += 1;
                        }
                        let digits: String = self.chars[from..self.at].iter().collect();
                        let index = digits.parse().map_err(|_| {
                            self.error("expected an index (0, 1, …) or a \"key\" inside `[ ]`")
                        })?;
                        steps.push(Step::Index(index));
                    }
                    if self.chars.get(self.at) != Some(&']') {
                        return Err(self.error("expected `]`"));
                    }
                    self.at += 1;
                }
                Some('.') if !steps.is_empty() => {
                    self.at += 1;
                    if !self.chars.get(self.at).is_some_and(|c| is_key_char(*c)) {
                        return Err(self.error("expected a key after `.`"));
                    }
                }
                Some(c)
                    if is_key_char(c) && (steps.is_empty() || self.chars[self.at - 1] == '.') =>
                {
                    let from = self.at;
                    while self.chars.get(self.at).is_some_and(|c| is_key_char(*c)) {
                        self.at += 1;
                    }
                    steps.push(Step::Key(self.chars[from..self.at].iter().collect()));
                }
                _ => break,
            }
        }
        if steps.is_empty() {
            return Err(self.error("expected a path (a.b[0].c)"));
        }
        Ok(Path {
            text: self.chars[start..self.at].iter().collect(),
            steps,
        })
    }
}

/// One key of a path as the parser reads it back: `.key` (`key` first), or `["odd key"]`
/// when the key holds other characters.
pub(crate) fn key_step(key: &str, first: bool) -> String {
    if !key.is_empty() && key.chars().all(is_key_char) {
        return if first {
            key.to_string()
        } else {
            format!(".{key}")
        };
    }
    let mut out = String::from("[\"");
    for c in key.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push_str("\"]");
    out
}

/// Characters of a bare key: letters (any script), digits, `_`, `-`, `$`, `@`.
fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '$' | '@')
}

#[cfg(test)]
#[path = "expr_tests.rs"]
mod tests;
