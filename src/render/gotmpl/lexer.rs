//! The template lexer: a port of Go's `text/template/parse/lex.go` (same
//! items, positions, line counting, trim markers and error texts).

/// Byte offset into the template text.
pub type Pos = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemType {
    Error,
    Bool,
    Char,
    CharConstant,
    Comment,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // keywords
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl ItemType {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            ItemType::Block
                | ItemType::Break
                | ItemType::Continue
                | ItemType::Dot
                | ItemType::Define
                | ItemType::Else
                | ItemType::End
                | ItemType::If
                | ItemType::Nil
                | ItemType::Range
                | ItemType::Template
                | ItemType::With
        )
    }
}

/// One lexed item. An error item's text is [`Lexer::error_message`]
/// (its `val` is empty), so items borrow the input and are `Copy`.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    pub typ: ItemType,
    pub pos: Pos,
    pub val: &'a str,
    pub line: usize,
}

impl std::fmt::Display for Item<'_> {
    /// Go's `item.String()`, used in parse error messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.typ {
            ItemType::Eof => f.write_str("EOF"),
            // The parser prints `Lexer::error_message` for error items.
            ItemType::Error => f.write_str("error"),
            t if t.is_keyword() => write!(f, "<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                write!(f, "{}...", crate::godata::gofmt::quote(&head))
            }
            _ => f.write_str(&crate::godata::gofmt::quote(self.val)),
        }
    }
}

fn keyword(word: &str) -> Option<ItemType> {
    Some(match word {
        "." => ItemType::Dot,
        "block" => ItemType::Block,
        "break" => ItemType::Break,
        "continue" => ItemType::Continue,
        "define" => ItemType::Define,
        "else" => ItemType::Else,
        "end" => ItemType::End,
        "if" => ItemType::If,
        "range" => ItemType::Range,
        "nil" => ItemType::Nil,
        "template" => ItemType::Template,
        "with" => ItemType::With,
        _ => return None,
    })
}

const LEFT_DELIM: &str = "{{";
const RIGHT_DELIM: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";
const TRIM_MARKER_LEN: usize = 2;
const EOF: Option<char> = None;

#[derive(Clone, Copy)]
enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Space,
    Identifier,
    Field,
    Variable,
    Char,
    Number,
    Quote,
    RawQuote,
    Done,
}

/// The lexer; call [`Lexer::next_item`] repeatedly.
pub struct Lexer<'a> {
    input: &'a str,
    pos: Pos,
    start: Pos,
    at_eof: bool,
    paren_depth: i32,
    line: usize,
    start_line: usize,
    item: Option<Item<'a>>,
    /// The text of the error item, once there is one.
    error: String,
    inside_action: bool,
    /// `break` and `continue` are keywords (no functions of those names).
    pub break_ok: bool,
    pub continue_ok: bool,
}

fn is_space(r: Option<char>) -> bool {
    matches!(r, Some(' ' | '\t' | '\r' | '\n'))
}

fn is_alnum(r: Option<char>) -> bool {
    match r {
        Some(c) => c == '_' || crate::godata::gofmt::is_letter_or_digit(c),
        None => false,
    }
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(Some(b[1] as char))
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(Some(b[0] as char)) && b[1] == b'-'
}

const SPACE_CHARS: &[char] = &[' ', '\t', '\r', '\n'];

impl<'a> Lexer<'a> {
    pub fn new(input: &'a str) -> Lexer<'a> {
        Lexer {
            input,
            pos: 0,
            start: 0,
            at_eof: false,
            paren_depth: 0,
            line: 1,
            start_line: 1,
            item: None,
            error: String::new(),
            inside_action: false,
            break_ok: true,
            continue_ok: true,
        }
    }

    /// The message of the error item (empty before an error).
    pub fn error_message(&self) -> &str {
        &self.error
    }

    fn rest(&self) -> &'a str {
        self.input.get(self.pos..).unwrap_or("")
    }

    fn next(&mut self) -> Option<char> {
        let Some(c) = self.peek() else {
            self.at_eof = true;
            return EOF;
        };
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn peek(&mut self) -> Option<char> {
        match self.input.as_bytes().get(self.pos) {
            Some(&b) if b.is_ascii() => Some(b as char),
            _ => self.rest().chars().next(),
        }
    }

    fn backup(&mut self) {
        if self.at_eof || self.pos == 0 {
            return;
        }
        let c = match self.input.as_bytes()[self.pos - 1] {
            b if b.is_ascii() => b as char,
            _ => match self.input[..self.pos].chars().next_back() {
                Some(c) => c,
                None => return,
            },
        };
        self.pos -= c.len_utf8();
        if c == '\n' {
            self.line -= 1;
        }
    }

    /// Skips ASCII letters, digits and `_` (most of every name).
    fn skip_ascii_alnum(&mut self) {
        let bytes = self.input.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if !(b.is_ascii_alphanumeric() || b == b'_') {
                break;
            }
            self.pos += 1;
        }
    }

    fn this_item(&mut self, typ: ItemType) -> Item<'a> {
        let input: &'a str = self.input;
        let i = Item {
            typ,
            pos: self.start,
            val: &input[self.start..self.pos],
            line: self.start_line,
        };
        self.start = self.pos;
        self.start_line = self.line;
        i
    }

    fn emit(&mut self, typ: ItemType) -> State {
        let i = self.this_item(typ);
        self.emit_item(i)
    }

    fn emit_item(&mut self, i: Item<'a>) -> State {
        self.item = Some(i);
        State::Done
    }

    fn ignore(&mut self) {
        self.line += newlines(&self.input[self.start..self.pos]);
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next() {
            Some(c) if valid.contains(c) => true,
            _ => {
                self.backup();
                false
            }
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while let Some(c) = self.next() {
            if !valid.contains(c) {
                break;
            }
        }
        self.backup();
    }

    fn errorf(&mut self, msg: String) -> State {
        self.error = msg;
        self.item = Some(Item {
            typ: ItemType::Error,
            pos: self.start,
            val: "",
            line: self.start_line,
        });
        self.start = 0;
        self.pos = 0;
        self.input = &self.input[..0];
        State::Done
    }

    /// The next item (EOF forever once the input is exhausted or after an error).
    pub fn next_item(&mut self) -> Item<'a> {
        self.item = None;
        let mut state = if self.inside_action {
            State::InsideAction
        } else {
            State::Text
        };
        loop {
            state = match state {
                State::Text => self.lex_text(),
                State::LeftDelim => self.lex_left_delim(),
                State::Comment => self.lex_comment(),
                State::RightDelim => self.lex_right_delim(),
                State::InsideAction => self.lex_inside_action(),
                State::Space => self.lex_space(),
                State::Identifier => self.lex_identifier(),
                State::Field => self.lex_field_or_variable(ItemType::Field),
                State::Variable => self.lex_variable(),
                State::Char => self.lex_char(),
                State::Number => self.lex_number(),
                State::Quote => self.lex_quote(),
                State::RawQuote => self.lex_raw_quote(),
                State::Done => {
                    return self.item.take().unwrap_or(Item {
                        typ: ItemType::Eof,
                        pos: self.pos,
                        val: "EOF",
                        line: self.start_line,
                    });
                }
            }
        }
    }

    fn lex_text(&mut self) -> State {
        if let Some(x) = find_left_delim(self.rest().as_bytes()) {
            if x > 0 {
                self.pos += x;
                let mut trim_length = 0;
                let delim_end = self.pos + LEFT_DELIM.len();
                if has_left_trim_marker(&self.input[delim_end..]) {
                    let s = &self.input[self.start..self.pos];
                    trim_length = s.len() - s.trim_end_matches(SPACE_CHARS).len();
                }
                self.pos -= trim_length;
                self.line += newlines(&self.input[self.start..self.pos]);
                let i = self.this_item(ItemType::Text);
                self.pos += trim_length;
                self.ignore();
                if !i.val.is_empty() {
                    return self.emit_item(i);
                }
            }
            return State::LeftDelim;
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.line += newlines(&self.input[self.start..self.pos]);
            return self.emit(ItemType::Text);
        }
        self.emit(ItemType::Eof)
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest[TRIM_MARKER_LEN..].starts_with(RIGHT_DELIM) {
            return (true, true);
        }
        if rest.starts_with(RIGHT_DELIM) {
            return (true, false);
        }
        (false, false)
    }

    fn lex_left_delim(&mut self) -> State {
        self.pos += LEFT_DELIM.len();
        let trim_space = has_left_trim_marker(self.rest());
        let after_marker = if trim_space { TRIM_MARKER_LEN } else { 0 };
        if self.input[self.pos + after_marker..].starts_with(LEFT_COMMENT) {
            self.pos += after_marker;
            self.ignore();
            return State::Comment;
        }
        let i = self.this_item(ItemType::LeftDelim);
        self.inside_action = true;
        self.pos += after_marker;
        self.ignore();
        self.paren_depth = 0;
        self.emit_item(i)
    }

    fn lex_comment(&mut self) -> State {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.errorf("unclosed comment".into());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim_space) = self.at_right_delim();
        if !delim {
            return self.errorf("comment ends before closing delimiter".into());
        }
        self.line += newlines(&self.input[self.start..self.pos]);
        let _comment = self.this_item(ItemType::Comment);
        if trim_space {
            self.pos += TRIM_MARKER_LEN;
        }
        self.pos += RIGHT_DELIM.len();
        if trim_space {
            let r = self.rest();
            self.pos += r.len() - r.trim_start_matches(SPACE_CHARS).len();
        }
        self.ignore();
        State::Text
    }

    fn lex_right_delim(&mut self) -> State {
        let (_, trim_space) = self.at_right_delim();
        if trim_space {
            self.pos += TRIM_MARKER_LEN;
            self.ignore();
        }
        self.pos += RIGHT_DELIM.len();
        let i = self.this_item(ItemType::RightDelim);
        if trim_space {
            let r = self.rest();
            self.pos += r.len() - r.trim_start_matches(SPACE_CHARS).len();
            self.ignore();
        }
        self.inside_action = false;
        self.emit_item(i)
    }

    fn lex_inside_action(&mut self) -> State {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return State::RightDelim;
            }
            return self.errorf("unclosed left paren".into());
        }
        let r = self.next();
        match r {
            None => self.errorf("unclosed action".into()),
            Some(' ' | '\t' | '\r' | '\n') => {
                self.backup();
                State::Space
            }
            Some('=') => self.emit(ItemType::Assign),
            Some(':') => {
                if self.next() != Some('=') {
                    return self.errorf("expected :=".into());
                }
                self.emit(ItemType::Declare)
            }
            Some('|') => self.emit(ItemType::Pipe),
            Some('"') => State::Quote,
            Some('`') => State::RawQuote,
            Some('$') => State::Variable,
            Some('\'') => State::Char,
            Some('.') => {
                if let Some(&b) = self.input.as_bytes().get(self.pos)
                    && !b.is_ascii_digit()
                {
                    return State::Field;
                }
                self.backup();
                State::Number
            }
            Some(c) if c == '+' || c == '-' || c.is_ascii_digit() => {
                self.backup();
                State::Number
            }
            Some(_) if is_alnum(r) => {
                self.backup();
                State::Identifier
            }
            Some('(') => {
                self.paren_depth += 1;
                self.emit(ItemType::LeftParen)
            }
            Some(')') => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.errorf("unexpected right paren".into());
                }
                self.emit(ItemType::RightParen)
            }
            Some(c) if c.is_ascii() && !c.is_ascii_control() => self.emit(ItemType::Char),
            Some(c) => {
                let u = crate::godata::gofmt::sprintf(
                    "%#U",
                    &[crate::godata::value::Value::Int(c as i64)],
                );
                self.errorf(format!("unrecognized character in action: {u}"))
            }
        }
    }

    fn lex_space(&mut self) -> State {
        let mut num_spaces = 0;
        while is_space(self.peek()) {
            self.next();
            num_spaces += 1;
        }
        let back = &self.input[self.pos - 1..];
        if has_right_trim_marker(back) && back[TRIM_MARKER_LEN..].starts_with(RIGHT_DELIM) {
            self.backup();
            if num_spaces == 1 {
                return State::RightDelim;
            }
        }
        self.emit(ItemType::Space)
    }

    fn lex_identifier(&mut self) -> State {
        self.skip_ascii_alnum();
        loop {
            let r = self.next();
            if is_alnum(r) {
                continue;
            }
            self.backup();
            let word = &self.input[self.start..self.pos];
            if !self.at_terminator() {
                return self.bad_character(r);
            }
            if let Some(kw) = keyword(word) {
                if (kw == ItemType::Break && !self.break_ok)
                    || (kw == ItemType::Continue && !self.continue_ok)
                {
                    return self.emit(ItemType::Identifier);
                }
                return self.emit(kw);
            }
            if word.starts_with('.') {
                return self.emit(ItemType::Field);
            }
            if word == "true" || word == "false" {
                return self.emit(ItemType::Bool);
            }
            return self.emit(ItemType::Identifier);
        }
    }

    fn bad_character(&mut self, r: Option<char>) -> State {
        let code = r.map_or(-1, |c| c as i64);
        let u = crate::godata::gofmt::sprintf("%#U", &[crate::godata::value::Value::Int(code)]);
        self.errorf(format!("bad character {u}"))
    }

    fn lex_variable(&mut self) -> State {
        if self.at_terminator() {
            return self.emit(ItemType::Variable);
        }
        self.lex_field_or_variable(ItemType::Variable)
    }

    fn lex_field_or_variable(&mut self, typ: ItemType) -> State {
        if self.at_terminator() {
            if typ == ItemType::Variable {
                return self.emit(ItemType::Variable);
            }
            return self.emit(ItemType::Dot);
        }
        let mut r;
        self.skip_ascii_alnum();
        loop {
            r = self.next();
            if !is_alnum(r) {
                self.backup();
                break;
            }
        }
        if !self.at_terminator() {
            return self.bad_character(r);
        }
        self.emit(typ)
    }

    fn at_terminator(&mut self) -> bool {
        let r = self.peek();
        if is_space(r) {
            return true;
        }
        match r {
            None | Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(RIGHT_DELIM),
        }
    }

    fn lex_char(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => {
                    let r = self.next();
                    if r.is_some() && r != Some('\n') {
                        continue;
                    }
                    return self.errorf("unterminated character constant".into());
                }
                None | Some('\n') => return self.errorf("unterminated character constant".into()),
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(ItemType::CharConstant)
    }

    fn lex_number(&mut self) -> State {
        if !self.scan_number() {
            let q = crate::godata::gofmt::quote(&self.input[self.start..self.pos]);
            return self.errorf(format!("bad number syntax: {q}"));
        }
        if let Some('+' | '-') = self.peek() {
            if !self.scan_number()
                || self.input.as_bytes().get(self.pos.wrapping_sub(1)) != Some(&b'i')
            {
                let q = crate::godata::gofmt::quote(&self.input[self.start..self.pos]);
                return self.errorf(format!("bad number syntax: {q}"));
            }
            return self.emit(ItemType::Complex);
        }
        self.emit(ItemType::Number)
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if is_alnum(self.peek()) {
            self.next();
            return false;
        }
        true
    }

    fn lex_quote(&mut self) -> State {
        loop {
            match self.next() {
                Some('\\') => {
                    let r = self.next();
                    if r.is_some() && r != Some('\n') {
                        continue;
                    }
                    return self.errorf("unterminated quoted string".into());
                }
                None | Some('\n') => return self.errorf("unterminated quoted string".into()),
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(ItemType::String)
    }

    fn lex_raw_quote(&mut self) -> State {
        loop {
            match self.next() {
                None => return self.errorf("unterminated raw quoted string".into()),
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(ItemType::RawString)
    }
}

/// Line breaks in `s` (SIMD count; text between actions can be long).
fn newlines(s: &str) -> usize {
    memchr::memchr_iter(b'\n', s.as_bytes()).count()
}

/// Where `{{` first occurs in `s`. Text runs between actions are short, so
/// scanning for `{` beats building a substring searcher for each run.
fn find_left_delim(s: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'{', &s[from..]) {
        let at = from + i;
        if s.get(at + 1) == Some(&b'{') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(s: &str) -> Vec<(ItemType, String)> {
        let mut l = Lexer::new(s);
        let mut out = vec![];
        loop {
            let i = l.next_item();
            let done = matches!(i.typ, ItemType::Eof | ItemType::Error);
            let val = if i.typ == ItemType::Error {
                l.error_message()
            } else {
                i.val
            };
            out.push((i.typ, val.to_string()));
            if done {
                return out;
            }
        }
    }

    #[test]
    fn trims_and_fields() {
        use ItemType::*;
        let got = items("a  {{- .x.y | f 1 -}}  b");
        let want = vec![
            (Text, "a".to_string()),
            (LeftDelim, "{{".into()),
            (Field, ".x".into()),
            (Field, ".y".into()),
            (Space, " ".into()),
            (Pipe, "|".into()),
            (Space, " ".into()),
            (Identifier, "f".into()),
            (Space, " ".into()),
            (Number, "1".into()),
            (RightDelim, "}}".into()),
            (Text, "b".into()),
            (Eof, std::string::String::new()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn comments_and_errors() {
        assert_eq!(items("x{{/* c */}}y").len(), 3);
        assert_eq!(
            items("{{ .x").last().map(|i| i.1.clone()),
            Some("unclosed action".into())
        );
    }
}
