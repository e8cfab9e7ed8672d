//! RFC 8941 Structured Field Values, as far as HTTP signatures need them: dictionaries of
//! items and inner lists with parameters (`Signature-Input`, `Signature`, `Content-Digest`),
//! read from the wire and written back in canonical form (an RFC 9421 signature base holds the
//! signature's parameters re-serialised). Used by `signatures/rfc9421.rs`.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};

/// A bare item (RFC 8941 §3.3). Decimals are kept as their parts, to be written back exactly
/// in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BareItem {
    Integer(i64),
    Decimal {
        negative: bool,
        integer: u64,
        /// The fraction digits with trailing zeros removed (at most three).
        fraction: String,
    },
    String(String),
    Token(String),
    ByteSequence(Vec<u8>),
    Boolean(bool),
}

/// Parameters (RFC 8941 §3.1.2), in order; a key given twice keeps its last value in the
/// first key's place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters(pub Vec<(String, BareItem)>);

impl Parameters {
    pub fn get(&self, key: &str) -> Option<&BareItem> {
        self.0
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    fn insert(&mut self, key: String, value: BareItem) {
        match self.0.iter_mut().find(|(name, _)| *name == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key, value)),
        }
    }
}

/// An item with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub value: BareItem,
    pub parameters: Parameters,
}

/// The value of one dictionary member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Item(Item),
    InnerList {
        items: Vec<Item>,
        parameters: Parameters,
    },
}

/// Why a field could not be read (the reason stays internal; peers get a short refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable;

/// Reads a Dictionary field (RFC 8941 §4.2.2). Its members keep their order; a key given twice
/// keeps its last value in the first key's place, as the RFC says.
pub fn parse_dictionary(field: &str) -> Result<Vec<(String, Member)>, Unreadable> {
    let mut parser = Parser {
        input: field.as_bytes(),
        position: 0,
    };
    parser.skip_spaces();
    let mut members: Vec<(String, Member)> = Vec::new();
    while !parser.at_end() {
        let key = parser.key()?;
        let member = if parser.eat(b'=') {
            parser.item_or_inner_list()?
        } else {
            Member::Item(Item {
                value: BareItem::Boolean(true),
                parameters: parser.parameters()?,
            })
        };
        match members.iter_mut().find(|(name, _)| *name == key) {
            Some(entry) => entry.1 = member,
            None => members.push((key, member)),
        }
        parser.skip_optional_whitespace();
        if parser.at_end() {
            break;
        }
        if !parser.eat(b',') {
            return Err(Unreadable);
        }
        parser.skip_optional_whitespace();
        if parser.at_end() {
            // A trailing comma.
            return Err(Unreadable);
        }
    }
    Ok(members)
}

/// Writes an inner list with its parameters in canonical form (RFC 8941 §4.1.1.1), e.g.
/// `("@method" "@target-uri");created=1618884473;keyid="k"`.
pub fn serialize_inner_list(items: &[Item], parameters: &Parameters) -> String {
    let items: Vec<String> = items.iter().map(serialize_item).collect();
    format!("({}){}", items.join(" "), serialize_parameters(parameters))
}

fn serialize_item(item: &Item) -> String {
    format!(
        "{}{}",
        serialize_bare_item(&item.value),
        serialize_parameters(&item.parameters)
    )
}

fn serialize_parameters(parameters: &Parameters) -> String {
    parameters
        .0
        .iter()
        .map(|(key, value)| match value {
            BareItem::Boolean(true) => format!(";{key}"),
            other => format!(";{key}={}", serialize_bare_item(other)),
        })
        .collect()
}

fn serialize_bare_item(item: &BareItem) -> String {
    match item {
        BareItem::Integer(number) => number.to_string(),
        BareItem::Decimal {
            negative,
            integer,
            fraction,
        } => {
            let fraction = if fraction.is_empty() { "0" } else { fraction };
            format!("{}{integer}.{fraction}", if *negative { "-" } else { "" })
        }
        BareItem::String(text) => {
            format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
        }
        BareItem::Token(token) => token.clone(),
        BareItem::ByteSequence(bytes) => format!(":{}:", BASE64.encode(bytes)),
        BareItem::Boolean(value) => if *value { "?1" } else { "?0" }.to_string(),
    }
}

struct Parser<'a> {
    input: &'a [u8],
    position: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.position >= self.input.len()
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.position).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.position += 1;
        }
    }

    fn skip_optional_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.position += 1;
        }
    }

    fn item_or_inner_list(&mut self) -> Result<Member, Unreadable> {
        if self.peek() == Some(b'(') {
            self.inner_list()
        } else {
            Ok(Member::Item(self.item()?))
        }
    }

    fn inner_list(&mut self) -> Result<Member, Unreadable> {
        self.position += 1;
        let mut items = Vec::new();
        loop {
            self.skip_spaces();
            if self.eat(b')') {
                return Ok(Member::InnerList {
                    items,
                    parameters: self.parameters()?,
                });
            }
            items.push(self.item()?);
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return Err(Unreadable);
            }
        }
    }

    fn item(&mut self) -> Result<Item, Unreadable> {
        Ok(Item {
            value: self.bare_item()?,
            parameters: self.parameters()?,
        })
    }

    fn parameters(&mut self) -> Result<Parameters, Unreadable> {
        let mut parameters = Parameters::default();
        while self.eat(b';') {
            self.skip_spaces();
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare_item()?
            } else {
                BareItem::Boolean(true)
            };
            parameters.insert(key, value);
        }
        Ok(parameters)
    }

    fn key(&mut self) -> Result<String, Unreadable> {
        let start = self.position;
        match self.peek() {
            Some(b'a'..=b'z' | b'*') => self.position += 1,
            _ => return Err(Unreadable),
        }
        while matches!(
            self.peek(),
            Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*')
        ) {
            self.position += 1;
        }
        Ok(String::from_utf8_lossy(&self.input[start..self.position]).into_owned())
    }

    fn bare_item(&mut self) -> Result<BareItem, Unreadable> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string(),
            Some(b':') => self.byte_sequence(),
            Some(b'?') => self.boolean(),
            Some(b'A'..=b'Z' | b'a'..=b'z' | b'*') => self.token(),
            _ => Err(Unreadable),
        }
    }

    fn number(&mut self) -> Result<BareItem, Unreadable> {
        let negative = self.eat(b'-');
        let start = self.position;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.position += 1;
        }
        let integer_digits = &self.input[start..self.position];
        if integer_digits.is_empty() {
            return Err(Unreadable);
        }
        let integer_text = std::str::from_utf8(integer_digits).map_err(|_| Unreadable)?;
        if !self.eat(b'.') {
            if integer_digits.len() > 15 {
                return Err(Unreadable);
            }
            let value: i64 = integer_text.parse().map_err(|_| Unreadable)?;
            return Ok(BareItem::Integer(if negative { -value } else { value }));
        }
        let fraction_start = self.position;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.position += 1;
        }
        let fraction_digits = &self.input[fraction_start..self.position];
        if integer_digits.len() > 12 || fraction_digits.is_empty() || fraction_digits.len() > 3 {
            return Err(Unreadable);
        }
        let fraction = std::str::from_utf8(fraction_digits)
            .map_err(|_| Unreadable)?
            .trim_end_matches('0')
            .to_string();
        Ok(BareItem::Decimal {
            negative,
            integer: integer_text.parse().map_err(|_| Unreadable)?,
            fraction,
        })
    }

    fn string(&mut self) -> Result<BareItem, Unreadable> {
        self.position += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(Unreadable),
                Some(b'"') => {
                    self.position += 1;
                    return Ok(BareItem::String(text));
                }
                Some(b'\\') => {
                    self.position += 1;
                    match self.peek() {
                        Some(escaped @ (b'"' | b'\\')) => {
                            text.push(char::from(escaped));
                            self.position += 1;
                        }
                        _ => return Err(Unreadable),
                    }
                }
                Some(byte @ 0x20..=0x7e) => {
                    text.push(char::from(byte));
                    self.position += 1;
                }
                Some(_) => return Err(Unreadable),
            }
        }
    }

    fn token(&mut self) -> Result<BareItem, Unreadable> {
        let start = self.position;
        self.position += 1;
        while matches!(
            self.peek(),
            Some(
                b'A'..=b'Z'
                | b'a'..=b'z'
                | b'0'..=b'9'
                | b'!'
                | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
                | b':'
                | b'/',
            )
        ) {
            self.position += 1;
        }
        Ok(BareItem::Token(
            String::from_utf8_lossy(&self.input[start..self.position]).into_owned(),
        ))
    }

    fn byte_sequence(&mut self) -> Result<BareItem, Unreadable> {
        self.position += 1;
        let start = self.position;
        while matches!(
            self.peek(),
            Some(b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=')
        ) {
            self.position += 1;
        }
        let encoded = &self.input[start..self.position];
        if !self.eat(b':') {
            return Err(Unreadable);
        }
        BASE64
            .decode(encoded)
            .map(BareItem::ByteSequence)
            .map_err(|_| Unreadable)
    }

    fn boolean(&mut self) -> Result<BareItem, Unreadable> {
        self.position += 1;
        let value = match self.peek() {
            Some(b'1') => true,
            Some(b'0') => false,
            _ => return Err(Unreadable),
        };
        self.position += 1;
        Ok(BareItem::Boolean(value))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_input_is_read_and_written_back_in_canonical_form() {
        let field = r#"sig1=("@method" "@target-uri"  "content-digest");created=1618884473;keyid="https://a.example/u#main-key";alg="rsa-v1_5-sha256", sig2=("@authority");created=1;tag=app"#;
        let members = parse_dictionary(field).unwrap();
        assert_eq!(members.len(), 2);
        let (label, Member::InnerList { items, parameters }) = &members[0] else {
            panic!("not an inner list: {members:?}");
        };
        assert_eq!(label, "sig1");
        assert_eq!(items.len(), 3);
        assert_eq!(items[1].value, BareItem::String("@target-uri".into()));
        assert_eq!(
            parameters.get("created"),
            Some(&BareItem::Integer(1618884473))
        );
        assert_eq!(
            serialize_inner_list(items, parameters),
            r#"("@method" "@target-uri" "content-digest");created=1618884473;keyid="https://a.example/u#main-key";alg="rsa-v1_5-sha256""#
        );
        let Member::InnerList { parameters, .. } = &members[1].1 else {
            panic!("not an inner list");
        };
        assert_eq!(parameters.get("tag"), Some(&BareItem::Token("app".into())));
    }

    #[test]
    fn byte_sequences_strings_numbers_and_booleans_round_trip() {
        let members =
            parse_dictionary("sha-256=:AAEC:,\tsha-512=:/w==:, flag, a=?0;b;c=1.500, d=\"x\\\"y\"")
                .unwrap();
        assert_eq!(
            members[0].1,
            Member::Item(Item {
                value: BareItem::ByteSequence(vec![0, 1, 2]),
                parameters: Parameters::default()
            })
        );
        assert_eq!(members[2].0, "flag");
        let Member::Item(item) = &members[3].1 else {
            panic!("not an item");
        };
        assert_eq!(serialize_item(item), "?0;b;c=1.5");
        let Member::Item(item) = &members[4].1 else {
            panic!("not an item");
        };
        assert_eq!(item.value, BareItem::String("x\"y".into()));
        assert_eq!(serialize_item(item), "\"x\\\"y\"");
    }

    #[test]
    fn malformed_fields_are_unreadable() {
        for field in [
            "sig1=(\"@method\"",
            "Sig1=(\"@method\")",
            "sig1=(\"@method\"),",
            "sig1=:not base64!:",
            "sig1=\"unterminated",
            "sig1=(\"a\"\"b\")",
            "sig1=1234567890123456",
            "sig1=\"tab\there\"",
            "sig1=(\"@method\") sig2=(\"@path\")",
        ] {
            assert_eq!(parse_dictionary(field), Err(Unreadable), "{field}");
        }
    }
}
