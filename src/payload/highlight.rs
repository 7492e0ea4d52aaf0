//! Syntax tokens for one line of pretty-printed JSON. Pretty JSON never splits a string across
//! lines, so each visible line can be highlighted on its own.

/// What a piece of a JSON line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Key,
    String,
    Number,
    Literal,
    Punct,
    Space,
    /// Character data between XML tags.
    Text,
}

/// A piece of a line with its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: TokenKind,
    pub text: &'a str,
}

/// Splits a line of pretty JSON into tokens.
pub fn json_line_tokens(line: &str) -> Vec<Token<'_>> {
    let bytes = line.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let kind = match bytes[i] {
            b' ' => {
                while i < bytes.len() && bytes[i] == b' ' {
                    i += 1;
                }
                TokenKind::Space
            }
            b'"' => {
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                i = i.min(bytes.len());
                if line[i..].starts_with(':') {
                    TokenKind::Key
                } else {
                    TokenKind::String
                }
            }
            b'-' | b'0'..=b'9' => {
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                TokenKind::Number
            }
            b't' | b'f' | b'n' => {
                while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                TokenKind::Literal
            }
            _ => {
                // Punctuation, one character at a time (may be multi-byte in odd input).
                i += line[i..].chars().next().map_or(1, char::len_utf8);
                TokenKind::Punct
            }
        };
        tokens.push(Token {
            kind,
            text: &line[start..i],
        });
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_a_key_value_line() {
        let got: Vec<(TokenKind, &str)> = json_line_tokens(r#"  "k\"ey": -1.5e3,"#)
            .into_iter()
            .map(|t| (t.kind, t.text))
            .collect();
        assert_eq!(
            got,
            [
                (TokenKind::Space, "  "),
                (TokenKind::Key, r#""k\"ey""#),
                (TokenKind::Punct, ":"),
                (TokenKind::Space, " "),
                (TokenKind::Number, "-1.5e3"),
                (TokenKind::Punct, ","),
            ]
        );
        let kinds: Vec<TokenKind> = json_line_tokens(r#"    "v", true, null"#)
            .iter()
            .map(|t| t.kind)
            .collect();
        assert!(kinds.contains(&TokenKind::String) && kinds.contains(&TokenKind::Literal));
    }

    #[test]
    fn odd_input_never_panics() {
        for line in ["\"unterminated", "\"\\", "é{", "", "\"a\\\""] {
            let joined: String = json_line_tokens(line).iter().map(|t| t.text).collect();
            assert_eq!(joined, line);
        }
    }
}
