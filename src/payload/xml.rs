//! XML payloads: told apart from text, pretty-printed one element per line (an element that
//! holds only text stays on one line), and tokenized per line for colours. Read with
//! `quick-xml`; the text is shown as written (entities and CDATA untouched), never expanded.

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::highlight::{Token, TokenKind};

/// Indentation per level.
const INDENT: &str = "  ";
/// Deeper than this is shown flat (a hostile payload can nest without end).
const MAX_DEPTH: usize = 64;

/// Whether a text is a well-formed XML document with at least one element.
pub fn is_xml(text: &str) -> bool {
    text.trim_start().starts_with('<') && pretty(text).is_some()
}

enum Piece {
    Open(String),
    Close(String),
    Line(String),
    Text(String),
}

/// The document pretty-printed, or `None` when it is not well-formed XML.
pub fn pretty(text: &str) -> Option<String> {
    let mut reader = Reader::from_str(text);
    // Texts are kept whole (`a &amp; b` is three pieces); blank ones are layout.
    reader.config_mut().check_end_names = true;
    let mut pieces = Vec::new();
    let (mut elements, mut depth) = (0usize, 0usize);
    loop {
        let piece = match reader.read_event().ok()? {
            Event::Eof => break,
            Event::Start(e) => {
                elements += 1;
                depth += 1;
                Piece::Open(format!("<{}>", String::from_utf8_lossy(&e)))
            }
            Event::End(e) => {
                depth = depth.checked_sub(1)?;
                Piece::Close(format!("</{}>", String::from_utf8_lossy(&e)))
            }
            Event::Empty(e) => {
                elements += 1;
                Piece::Line(format!("<{}/>", String::from_utf8_lossy(&e)))
            }
            Event::Text(e) if e.iter().all(u8::is_ascii_whitespace) => continue,
            Event::Text(e) => Piece::Text(String::from_utf8_lossy(&e).into_owned()),
            Event::GeneralRef(e) => Piece::Text(format!("&{};", String::from_utf8_lossy(&e))),
            Event::CData(e) => Piece::Text(format!("<![CDATA[{}]]>", String::from_utf8_lossy(&e))),
            Event::Comment(e) => Piece::Line(format!("<!--{}-->", String::from_utf8_lossy(&e))),
            Event::Decl(e) => Piece::Line(format!("<?{}?>", String::from_utf8_lossy(&e))),
            Event::PI(e) => Piece::Line(format!("<?{}?>", String::from_utf8_lossy(&e))),
            Event::DocType(e) => Piece::Line(format!("<!DOCTYPE {}>", String::from_utf8_lossy(&e))),
        };
        pieces.push(piece);
    }
    if elements == 0 || depth != 0 {
        return None;
    }
    Some(layout(&pieces))
}

/// One piece a line; `<a>text</a>` (texts and references between an open and its close)
/// joined on one line.
fn layout(pieces: &[Piece]) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut i = 0;
    let line = |out: &mut String, depth: usize, text: &str| {
        out.push_str(&INDENT.repeat(depth.min(MAX_DEPTH)));
        out.push_str(text);
        out.push('\n');
    };
    while i < pieces.len() {
        match &pieces[i] {
            Piece::Open(open) => {
                // Texts up to a close: one line.
                let texts = pieces[i + 1..]
                    .iter()
                    .take_while(|p| matches!(p, Piece::Text(_)))
                    .count();
                if let Some(Piece::Close(close)) = pieces.get(i + 1 + texts) {
                    let inner: String = pieces[i + 1..i + 1 + texts]
                        .iter()
                        .map(|p| match p {
                            Piece::Text(t) => t.as_str(),
                            _ => "",
                        })
                        .collect();
                    line(&mut out, depth, &format!("{open}{}{close}", inner.trim()));
                    i += texts + 2;
                    continue;
                }
                line(&mut out, depth, open);
                depth += 1;
            }
            Piece::Close(close) => {
                depth = depth.saturating_sub(1);
                line(&mut out, depth, close);
            }
            Piece::Line(text) => line(&mut out, depth, text),
            Piece::Text(text) => line(&mut out, depth, text.trim()),
        }
        i += 1;
    }
    out.pop();
    out
}

/// Tokens of one pretty line: tag names as keys, attribute names as literals, attribute
/// values as strings, the rest of the markup as punctuation, text as text.
pub fn line_tokens<'a>(line: &'a str) -> Vec<Token<'a>> {
    let mut tokens = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    let push = |tokens: &mut Vec<Token<'a>>, kind, from: usize, to: usize| {
        if to > from {
            tokens.push(Token {
                kind,
                text: &line[from..to],
            });
        }
    };
    while i < bytes.len() {
        if bytes[i] != b'<' {
            let end = line[i..].find('<').map_or(line.len(), |j| i + j);
            let kind = if line[i..end].trim().is_empty() {
                TokenKind::Space
            } else {
                TokenKind::Text
            };
            push(&mut tokens, kind, i, end);
            i = end;
            continue;
        }
        // Comments, declarations, CDATA: one piece of punctuation.
        if line[i..].starts_with("<!") || line[i..].starts_with("<?") {
            let end = line[i..].find('>').map_or(line.len(), |j| i + j + 1);
            push(&mut tokens, TokenKind::Punct, i, end);
            i = end;
            continue;
        }
        let start = i;
        i += 1;
        if bytes.get(i) == Some(&b'/') {
            i += 1;
        }
        push(&mut tokens, TokenKind::Punct, start, i);
        let name_end = line[i..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .map_or(line.len(), |j| i + j);
        push(&mut tokens, TokenKind::Key, i, name_end);
        i = name_end;
        // Attributes until `>` or `/>`.
        while i < bytes.len() && bytes[i] != b'>' {
            match bytes[i] {
                b'"' | b'\'' => {
                    let quote = bytes[i];
                    let end = line[i + 1..]
                        .find(char::from(quote))
                        .map_or(line.len(), |j| i + 1 + j + 1);
                    push(&mut tokens, TokenKind::String, i, end);
                    i = end;
                }
                b'=' | b'/' => {
                    push(&mut tokens, TokenKind::Punct, i, i + 1);
                    i += 1;
                }
                c if c.is_ascii_whitespace() => {
                    let end = line[i..]
                        .find(|c: char| !c.is_whitespace())
                        .map_or(line.len(), |j| i + j);
                    push(&mut tokens, TokenKind::Space, i, end);
                    i = end;
                }
                _ => {
                    let end = line[i..]
                        .find(|c: char| c.is_whitespace() || matches!(c, '=' | '>' | '/'))
                        .map_or(line.len(), |j| i + j);
                    push(&mut tokens, TokenKind::Literal, i, end.max(i + 1));
                    i = end.max(i + 1);
                }
            }
        }
        if i < bytes.len() {
            push(&mut tokens, TokenKind::Punct, i, i + 1);
            i += 1;
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn documents_are_indented_and_text_only_elements_stay_on_one_line() {
        let doc = r#"<?xml version="1.0"?><plant id="温度"><boiler t="85.5"><state>on</state><empty/></boiler><!-- note --><v>a &amp; b</v></plant>"#;
        assert!(is_xml(doc));
        assert_eq!(
            pretty(doc).unwrap(),
            "<?xml version=\"1.0\"?>\n<plant id=\"温度\">\n  <boiler t=\"85.5\">\n    \
             <state>on</state>\n    <empty/>\n  </boiler>\n  <!-- note -->\n  \
             <v>a &amp; b</v>\n</plant>"
        );
    }

    #[test]
    fn not_xml_is_told_apart() {
        for text in [
            "plain text",
            "<a><b></a>",
            "<a>",
            "< not a tag",
            "{\"json\": 1}",
            "<!-- only a comment -->",
            "",
        ] {
            assert!(!is_xml(text), "{text:?}");
        }
    }

    #[test]
    fn lines_are_tokenized_for_colours() {
        let kinds: Vec<(TokenKind, &str)> = line_tokens(r#"  <boiler t="85.5">on</boiler>"#)
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect();
        assert_eq!(
            kinds,
            [
                (TokenKind::Space, "  "),
                (TokenKind::Punct, "<"),
                (TokenKind::Key, "boiler"),
                (TokenKind::Space, " "),
                (TokenKind::Literal, "t"),
                (TokenKind::Punct, "="),
                (TokenKind::String, "\"85.5\""),
                (TokenKind::Punct, ">"),
                (TokenKind::Text, "on"),
                (TokenKind::Punct, "</"),
                (TokenKind::Key, "boiler"),
                (TokenKind::Punct, ">"),
            ]
        );
        // Whatever the line, the tokens put it back together.
        for line in [
            "<a b='x' c=\"y\"/>",
            "<!-- x -->",
            "<?xml v?>",
            "<a =>",
            "<\u{1b}",
        ] {
            let joined: String = line_tokens(line).iter().map(|t| t.text).collect();
            assert_eq!(joined, line);
        }
    }

    #[test]
    fn deep_nesting_is_shown_flat_past_a_limit() {
        let depth = 10_000;
        let doc = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        let text = pretty(&doc).unwrap();
        assert!(
            text.lines()
                .all(|l| l.len() <= MAX_DEPTH * INDENT.len() + 8)
        );
    }
}
