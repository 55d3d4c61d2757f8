//! The template parser and syntax tree: a port of Go's
//! `text/template/parse/{parse.go,node.go}` — same grammar, same node
//! positions (errors report them as `file:line:col`), same `String()` forms
//! of nodes (used in `executing "x" at <.Values.a>` contexts) and the same
//! parse error texts (`template: NAME:LINE: unexpected EOF`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

use super::lexer::{Item, ItemType, Lexer, Pos};
use crate::godata::gofmt;

/// A parsed template: its name, the file it came from and its body.
#[derive(Debug)]
pub struct Tree {
    /// The template's name (`define` name or file name).
    pub name: Rc<str>,
    /// The name of the top-level template during parsing (the file), for errors.
    pub parse_name: Rc<str>,
    /// The whole text that was parsed (positions index into it).
    pub text: Rc<str>,
    pub root: ListNode,
}

/// A piece of a template's source text: text nodes, function names, field
/// paths, number and string literals point into the file they were parsed
/// from instead of copying it (a chart's templates are mostly text, and a
/// copy is an allocation).
#[derive(Debug, Clone)]
pub struct TextSpan {
    source: Rc<str>,
    start: usize,
    end: usize,
}

impl TextSpan {
    /// The span of `piece` inside `source`, or a copy of `piece` when it
    /// is not a slice of `source`.
    fn of(source: &Rc<str>, piece: &str) -> TextSpan {
        let base = source.as_ptr() as usize;
        let at = piece.as_ptr() as usize;
        if at >= base && at + piece.len() <= base + source.len() {
            let start = at - base;
            return TextSpan {
                source: source.clone(),
                start,
                end: start + piece.len(),
            };
        }
        TextSpan {
            source: Rc::from(piece),
            start: 0,
            end: piece.len(),
        }
    }

    /// The bytes `start..end` of `source` (a range the lexer produced).
    fn range(source: &Rc<str>, start: usize, end: usize) -> TextSpan {
        TextSpan {
            source: source.clone(),
            start,
            end,
        }
    }
}

impl std::ops::Deref for TextSpan {
    type Target = str;
    fn deref(&self) -> &str {
        &self.source[self.start..self.end]
    }
}

#[derive(Debug, Default)]
pub struct ListNode {
    pub pos: Pos,
    pub nodes: Vec<Node>,
}

#[derive(Debug)]
pub enum Node {
    Text { pos: Pos, text: TextSpan },
    Comment { pos: Pos },
    Action(ActionNode),
    // Branches and template calls are boxed so the common nodes (text,
    // actions) stay small.
    If(Box<BranchNode>),
    Range(Box<BranchNode>),
    With(Box<BranchNode>),
    Template(Box<TemplateNode>),
    Break { pos: Pos },
    Continue { pos: Pos },
}

#[derive(Debug)]
pub struct ActionNode {
    pub pos: Pos,
    pub pipe: PipeNode,
}

#[derive(Debug)]
pub struct BranchNode {
    pub pos: Pos,
    pub pipe: PipeNode,
    pub list: ListNode,
    pub else_list: Option<ListNode>,
}

#[derive(Debug)]
pub struct TemplateNode {
    pub pos: Pos,
    pub name: Rc<str>,
    pub pipe: Option<PipeNode>,
}

#[derive(Debug)]
pub struct PipeNode {
    pub pos: Pos,
    pub is_assign: bool,
    pub decl: Vec<VariableNode>,
    pub cmds: Vec<CommandNode>,
}

#[derive(Debug)]
pub struct CommandNode {
    pub pos: Pos,
    pub args: Vec<Arg>,
}

/// A non-empty dotted name path as it is written in the template: `a.b`
/// of the field `.a.b`, or `$x.a` of a variable. Names never contain dots
/// (the lexer ends a name at one), so the path is its source text.
#[derive(Debug, Clone)]
pub struct Path(TextSpan);

impl Path {
    /// The path's text, names joined by dots.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first name (a variable's own name).
    pub fn first(&self) -> &str {
        self.0.split('.').next().unwrap_or_default()
    }

    /// The names after the first, as a path's text (`None` for one name).
    pub fn rest(&self) -> Option<&str> {
        self.0.split_once('.').map(|(_, rest)| rest)
    }
}

#[derive(Debug)]
pub struct VariableNode {
    pub pos: Pos,
    /// `$x` or `$x.a.b`.
    pub ident: Path,
}

#[derive(Debug)]
pub struct FieldNode {
    pub pos: Pos,
    /// `a.b` of `.a.b`.
    pub ident: Path,
}

#[derive(Debug)]
pub struct ChainNode {
    pub pos: Pos,
    pub node: Box<Arg>,
    /// `a.b` of `(x).a.b`.
    pub field: Path,
}

/// A numeric constant with every interpretation Go's parser computes.
#[derive(Debug, Clone)]
pub struct NumberNode {
    pub pos: Pos,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub int64: i64,
    pub uint64: u64,
    pub float64: f64,
    pub text: TextSpan,
}

/// An operand of a command.
#[derive(Debug)]
pub enum Arg {
    Identifier {
        pos: Pos,
        name: TextSpan,
    },
    Dot {
        pos: Pos,
    },
    Nil {
        pos: Pos,
    },
    Variable(VariableNode),
    Field(FieldNode),
    Chain(ChainNode),
    Bool {
        pos: Pos,
        val: bool,
    },
    Number(NumberNode),
    String {
        pos: Pos,
        /// The literal as written, quotes and escapes included.
        quoted: TextSpan,
        text: Rc<str>,
    },
    Pipe(Box<PipeNode>),
}

impl Arg {
    pub fn pos(&self) -> Pos {
        match self {
            Arg::Identifier { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Variable(v) => v.pos,
            Arg::Field(f) => f.pos,
            Arg::Chain(c) => c.pos,
            Arg::Number(n) => n.pos,
            Arg::Pipe(p) => p.pos,
        }
    }

    /// Go's `Node.String()`.
    pub fn write_to(&self, sb: &mut String) {
        match self {
            Arg::Identifier { name, .. } => sb.push_str(name),
            Arg::Dot { .. } => sb.push('.'),
            Arg::Nil { .. } => sb.push_str("nil"),
            Arg::Variable(v) => v.write_to(sb),
            Arg::Field(f) => f.write_to(sb),
            Arg::Chain(c) => {
                if let Arg::Pipe(p) = c.node.as_ref() {
                    sb.push('(');
                    p.write_to(sb);
                    sb.push(')');
                } else {
                    c.node.write_to(sb);
                }
                sb.push('.');
                sb.push_str(c.field.as_str());
            }
            Arg::Bool { val, .. } => sb.push_str(if *val { "true" } else { "false" }),
            Arg::Number(n) => sb.push_str(&n.text),
            Arg::String { quoted, .. } => sb.push_str(quoted),
            Arg::Pipe(p) => p.write_to(sb),
        }
    }

    pub fn to_string_go(&self) -> String {
        let mut s = String::new();
        self.write_to(&mut s);
        s
    }
}

impl VariableNode {
    pub fn write_to(&self, sb: &mut String) {
        sb.push_str(self.ident.as_str());
    }
}

impl FieldNode {
    pub fn write_to(&self, sb: &mut String) {
        sb.push('.');
        sb.push_str(self.ident.as_str());
    }
}

impl CommandNode {
    pub fn write_to(&self, sb: &mut String) {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                sb.push(' ');
            }
            if let Arg::Pipe(p) = arg {
                sb.push('(');
                p.write_to(sb);
                sb.push(')');
                continue;
            }
            arg.write_to(sb);
        }
    }
}

impl PipeNode {
    pub fn write_to(&self, sb: &mut String) {
        if !self.decl.is_empty() {
            for (i, v) in self.decl.iter().enumerate() {
                if i > 0 {
                    sb.push_str(", ");
                }
                v.write_to(sb);
            }
            sb.push_str(if self.is_assign { " = " } else { " := " });
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                sb.push_str(" | ");
            }
            c.write_to(sb);
        }
    }
}

impl ListNode {
    pub fn write_to(&self, sb: &mut String) {
        for n in &self.nodes {
            n.write_to(sb);
        }
    }
}

impl BranchNode {
    fn write_branch(&self, name: &str, sb: &mut String) {
        sb.push_str("{{");
        sb.push_str(name);
        sb.push(' ');
        self.pipe.write_to(sb);
        sb.push_str("}}");
        self.list.write_to(sb);
        if let Some(e) = &self.else_list {
            sb.push_str("{{else}}");
            e.write_to(sb);
        }
        sb.push_str("{{end}}");
    }
}

impl TemplateNode {
    pub fn write_to(&self, sb: &mut String) {
        sb.push_str("{{template ");
        sb.push_str(&gofmt::quote(&self.name));
        if let Some(p) = &self.pipe {
            sb.push(' ');
            p.write_to(sb);
        }
        sb.push_str("}}");
    }
}

impl Node {
    pub fn write_to(&self, sb: &mut String) {
        match self {
            Node::Text { text, .. } => sb.push_str(text),
            Node::Comment { .. } => {}
            Node::Action(a) => {
                sb.push_str("{{");
                a.pipe.write_to(sb);
                sb.push_str("}}");
            }
            Node::If(b) => b.write_branch("if", sb),
            Node::Range(b) => b.write_branch("range", sb),
            Node::With(b) => b.write_branch("with", sb),
            Node::Template(t) => t.write_to(sb),
            Node::Break { .. } => sb.push_str("{{break}}"),
            Node::Continue { .. } => sb.push_str("{{continue}}"),
        }
    }
}

/// Go's `parse.IsEmptyTree`.
pub fn is_empty_list(l: &ListNode) -> bool {
    l.nodes.iter().all(|n| match n {
        Node::Comment { .. } => true,
        Node::Text { text, .. } => text.trim_matches(|c: char| c.is_whitespace()).is_empty(),
        _ => false,
    })
}

/// A parse failure; the message is Go's complete error text
/// (`template: NAME:LINE: MESSAGE`).
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError(pub String);

type PResult<T> = Result<T, ParseError>;

/// Deepest nesting of parenthesized expressions (Go's `maxStackDepth`).
const MAX_STACK_DEPTH: usize = 10000;

/// Parser-side marker nodes for `{{end}}` and `{{else}}`.
enum Parsed {
    Node(Node),
    End,
    Else { pos: Pos },
}

impl Parsed {
    fn describe(&self) -> String {
        match self {
            Parsed::End => "{{end}}".into(),
            Parsed::Else { .. } => "{{else}}".into(),
            Parsed::Node(n) => {
                let mut s = String::new();
                n.write_to(&mut s);
                s
            }
        }
    }
}

/// Per-tree parsing state (Go keeps it in each `Tree`).
struct TreeCtx<'a> {
    name: Rc<str>,
    vars: Vec<&'a str>,
    range_depth: usize,
    stack_depth: usize,
    action_line: usize,
}

/// Parses `text` (a file named `name`) into its trees: the file's own tree
/// plus one per `define`/`block`, as Go's `parse.Parse` does.
pub fn parse(
    name: &str,
    text: &str,
    has_function: &dyn Fn(&str) -> bool,
) -> Result<HashMap<Rc<str>, Rc<Tree>>, ParseError> {
    parse_shared(name, &Rc::from(text), has_function)
}

/// [`parse`] of text the caller already holds in an `Rc`: the trees keep
/// a reference to it instead of a copy.
pub fn parse_shared(
    name: &str,
    text: &Rc<str>,
    has_function: &dyn Fn(&str) -> bool,
) -> Result<HashMap<Rc<str>, Rc<Tree>>, ParseError> {
    let text_rc: Rc<str> = text.clone();
    let name_rc: Rc<str> = Rc::from(name);
    let mut lex = Lexer::new(text);
    lex.break_ok = !has_function("break");
    lex.continue_ok = !has_function("continue");
    let mut p = Parser {
        lex,
        token: [empty_item(), empty_item(), empty_item()],
        peek_count: 0,
        parse_name: name_rc.clone(),
        src: text,
        text: text_rc,
        has_function,
        tree_set: HashMap::new(),
        ctx: TreeCtx {
            name: name_rc,
            vars: vec!["$"],
            range_depth: 0,
            stack_depth: 0,
            action_line: 0,
        },
        scratch: SCRATCH.take(),
    };
    let parsed = p.parse_top().and_then(|root| p.add(root));
    let mut scratch = std::mem::take(&mut p.scratch);
    scratch.clear();
    SCRATCH.set(scratch);
    parsed.map(|()| p.tree_set)
}

thread_local! {
    /// The scratch stacks between parses: a chart's files are parsed one
    /// after another, and each would otherwise grow its own stacks again.
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::new(Scratch::default());
}

fn empty_item<'a>() -> Item<'a> {
    Item {
        typ: ItemType::Eof,
        pos: 0,
        val: "",
        line: 0,
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
    token: [Item<'a>; 3],
    peek_count: usize,
    parse_name: Rc<str>,
    /// The text being parsed (the lexer's input; item positions index it).
    src: &'a str,
    text: Rc<str>,
    has_function: &'a dyn Fn(&str) -> bool,
    tree_set: HashMap<Rc<str>, Rc<Tree>>,
    ctx: TreeCtx<'a>,
    scratch: Scratch,
}

/// Node vectors under construction, kept as stacks: a nested list or
/// pipeline pushes above its parent's items and takes its own off before
/// the parent goes on, so every finished vector is allocated once, at its
/// exact size (most commands have one to three arguments).
#[derive(Default)]
struct Scratch {
    nodes: Vec<Node>,
    cmds: Vec<CommandNode>,
    args: Vec<Arg>,
}

impl Scratch {
    /// Empties the stacks (a failed parse leaves items), keeping capacity.
    fn clear(&mut self) {
        self.nodes.clear();
        self.cmds.clear();
        self.args.clear();
    }
}

/// The items of `stack` from `mark` on, as a vector of exactly that size
/// (one copy of the tail; the stack keeps its capacity).
fn take<T>(stack: &mut Vec<T>, mark: usize) -> Vec<T> {
    stack.split_off(mark)
}

impl<'a> Parser<'a> {
    fn next(&mut self) -> Item<'a> {
        if self.peek_count > 0 {
            self.peek_count -= 1;
        } else {
            self.token[0] = self.lex.next_item();
        }
        self.token[self.peek_count]
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item<'a>) {
        self.token[1] = t1;
        self.peek_count = 2;
    }

    fn backup3(&mut self, t2: Item<'a>, t1: Item<'a>) {
        self.token[1] = t1;
        self.token[2] = t2;
        self.peek_count = 3;
    }

    fn peek(&mut self) -> Item<'a> {
        if self.peek_count > 0 {
            return self.token[self.peek_count - 1];
        }
        self.peek_count = 1;
        self.token[0] = self.lex.next_item();
        self.token[0]
    }

    fn next_non_space(&mut self) -> Item<'a> {
        loop {
            let t = self.next();
            if t.typ != ItemType::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item<'a> {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn errorf<T>(&self, msg: impl std::fmt::Display) -> PResult<T> {
        Err(ParseError(format!(
            "template: {}:{}: {}",
            self.parse_name, self.token[0].line, msg
        )))
    }

    fn expect(&mut self, expected: ItemType, context: &str) -> PResult<Item<'a>> {
        let t = self.next_non_space();
        if t.typ != expected {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn unexpected<T>(&self, token: &Item, context: &str) -> PResult<T> {
        if token.typ == ItemType::Error {
            let message = self.lex.error_message();
            let mut extra = String::new();
            if self.ctx.action_line != 0 && self.ctx.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.ctx.action_line
                );
                if message.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{message}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn add(&mut self, root: ListNode) -> PResult<()> {
        let name = self.ctx.name.clone();
        if let Some(existing) = self.tree_set.get(&name)
            && !is_empty_list(&existing.root)
        {
            if !is_empty_list(&root) {
                return self.errorf(format!(
                    "template: multiple definition of template {}",
                    gofmt::quote(&name)
                ));
            }
            return Ok(());
        }
        let tree = Tree {
            name: name.clone(),
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root,
        };
        self.tree_set.insert(name, Rc::new(tree));
        Ok(())
    }

    /// The source text of a (non-error) item, borrowed for the parse.
    fn source_of(&self, item: &Item) -> &'a str {
        let src: &'a str = self.src;
        &src[item.pos..item.pos + item.val.len()]
    }

    /// The span `start..end` of the parsed text.
    fn span(&self, start: Pos, end: Pos) -> TextSpan {
        TextSpan::range(&self.text, start, end)
    }

    /// The span of a (non-error) item, `skip` bytes in (a field's `.`).
    fn span_of(&self, item: &Item, skip: usize) -> TextSpan {
        self.span(item.pos + skip, item.pos + item.val.len())
    }

    fn new_ctx(&mut self, name: Rc<str>) -> TreeCtx<'a> {
        let fresh = TreeCtx {
            name,
            vars: vec!["$"],
            range_depth: 0,
            stack_depth: 0,
            action_line: 0,
        };
        std::mem::replace(&mut self.ctx, fresh)
    }

    fn parse_top(&mut self) -> PResult<ListNode> {
        let pos = self.peek().pos;
        let mark = self.scratch.nodes.len();
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let delim = self.next();
                if self.next_non_space().typ == ItemType::Define {
                    let saved = self.new_ctx(Rc::from("definition"));
                    let r = self.parse_definition();
                    self.ctx = saved;
                    r?;
                    continue;
                }
                self.backup2(delim);
            }
            match self.text_or_action()? {
                p @ (Parsed::End | Parsed::Else { .. }) => {
                    return self.errorf(format!("unexpected {}", p.describe()));
                }
                Parsed::Node(n) => self.scratch.nodes.push(n),
            }
        }
        Ok(ListNode {
            pos,
            nodes: take(&mut self.scratch.nodes, mark),
        })
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let name = self.next_non_space();
        if name.typ != ItemType::String && name.typ != ItemType::RawString {
            return self.unexpected(&name, context);
        }
        match unquote(name.val) {
            Ok(s) => self.ctx.name = Rc::from(&*s),
            Err(e) => return self.errorf(e),
        }
        self.expect(ItemType::RightDelim, context)?;
        let (list, end) = self.item_list()?;
        if !matches!(end, Parsed::End) {
            return self.errorf(format!("unexpected {} in {}", end.describe(), context));
        }
        self.add(list)
    }

    fn item_list(&mut self) -> PResult<(ListNode, Parsed)> {
        let pos = self.peek_non_space().pos;
        let mark = self.scratch.nodes.len();
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                p @ (Parsed::End | Parsed::Else { .. }) => {
                    let nodes = take(&mut self.scratch.nodes, mark);
                    return Ok((ListNode { pos, nodes }, p));
                }
                Parsed::Node(n) => self.scratch.nodes.push(n),
            }
        }
        self.errorf("unexpected EOF")
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text {
                pos: token.pos,
                text: TextSpan::of(&self.text, token.val),
            })),
            ItemType::LeftDelim => {
                self.ctx.action_line = token.line;
                let r = self.action();
                self.ctx.action_line = 0;
                r
            }
            ItemType::Comment => Ok(Parsed::Node(Node::Comment { pos: token.pos })),
            _ => self.unexpected(&token, "input"),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Block => return self.block_control().map(Parsed::Node),
            ItemType::Break => return self.break_control(token.pos, "{{break}}", true),
            ItemType::Continue => return self.break_control(token.pos, "{{continue}}", false),
            ItemType::Else => return self.else_control(),
            ItemType::End => {
                let t = self.expect(ItemType::RightDelim, "end")?;
                return Ok({
                    let _ = t;
                    Parsed::End
                });
            }
            ItemType::If => {
                return self
                    .branch_control("if")
                    .map(|b| Parsed::Node(Node::If(Box::new(b))));
            }
            ItemType::Range => {
                return self
                    .branch_control("range")
                    .map(|b| Parsed::Node(Node::Range(Box::new(b))));
            }
            ItemType::Template => return self.template_control().map(Parsed::Node),
            ItemType::With => {
                return self
                    .branch_control("with")
                    .map(|b| Parsed::Node(Node::With(Box::new(b))));
            }
            _ => {}
        }
        self.backup();
        let token = self.peek();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action(ActionNode {
            pos: token.pos,
            pipe,
        })))
    }

    fn break_control(&mut self, pos: Pos, context: &str, is_break: bool) -> PResult<Parsed> {
        let token = self.next_non_space();
        if token.typ != ItemType::RightDelim {
            return self.unexpected(&token, context);
        }
        if self.ctx.range_depth == 0 {
            return self.errorf(format!("{context} outside {{{{range}}}}"));
        }
        Ok(Parsed::Node(if is_break {
            Node::Break { pos }
        } else {
            Node::Continue { pos }
        }))
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<PipeNode> {
        let token = self.peek_non_space();
        let mut pipe = PipeNode {
            pos: token.pos,
            is_assign: false,
            decl: vec![],
            cmds: vec![],
        };
        let mark = self.scratch.cmds.len();
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ == ItemType::Variable {
                self.next();
                let token_after_variable = self.peek();
                let next = self.peek_non_space();
                if next.typ == ItemType::Assign || next.typ == ItemType::Declare {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next_non_space();
                    pipe.decl.push(self.variable(&v));
                    self.ctx.vars.push(self.source_of(&v));
                } else if next.typ == ItemType::Char && next.val == "," {
                    self.next_non_space();
                    pipe.decl.push(self.variable(&v));
                    self.ctx.vars.push(self.source_of(&v));
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue 'decls;
                            }
                            _ => return self.errorf("range can only initialize variables"),
                        }
                    }
                    return self.errorf(format!("too many declarations in {context}"));
                } else if token_after_variable.typ == ItemType::Space {
                    self.backup3(v, token_after_variable);
                } else {
                    self.backup2(v);
                }
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            if token.typ == end {
                pipe.cmds = take(&mut self.scratch.cmds, mark);
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match token.typ {
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    self.scratch.cmds.push(cmd);
                }
                _ => return self.unexpected(&token, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &PipeNode, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.errorf(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Arg::Bool { .. }
                        | Arg::Dot { .. }
                        | Arg::Nil { .. }
                        | Arg::Number(_)
                        | Arg::String { .. }
                )
            ) {
                return self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn branch_control(&mut self, context: &str) -> PResult<BranchNode> {
        let mark = self.ctx.vars.len();
        let r = super::stack::grow(|| self.parse_control(context));
        self.ctx.vars.truncate(mark);
        r
    }

    fn parse_control(&mut self, context: &str) -> PResult<BranchNode> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.ctx.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.ctx.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        if let Parsed::Else { pos } = next {
            if context == "if" && self.peek().typ == ItemType::If {
                self.next();
                let inner = self.branch_control("if")?;
                else_list = Some(ListNode {
                    pos,
                    nodes: vec![Node::If(Box::new(inner))],
                });
            } else if context == "with" && self.peek().typ == ItemType::With {
                self.next();
                let inner = self.branch_control("with")?;
                else_list = Some(ListNode {
                    pos,
                    nodes: vec![Node::With(Box::new(inner))],
                });
            } else {
                let (l, next) = self.item_list()?;
                if !matches!(next, Parsed::End) {
                    return self.errorf(format!("expected end; found {}", next.describe()));
                }
                else_list = Some(l);
            }
        }
        Ok(BranchNode {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek_non_space();
        if peek.typ == ItemType::If || peek.typ == ItemType::With {
            return Ok(Parsed::Else { pos: peek.pos });
        }
        let token = self.expect(ItemType::RightDelim, "else")?;
        Ok(Parsed::Else { pos: token.pos })
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let token = self.next_non_space();
        let name = self.parse_template_name(&token, context)?;
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        let saved = self.new_ctx(name.clone());
        let r = self.item_list();
        let r = match r {
            Ok((list, end)) => {
                if !matches!(end, Parsed::End) {
                    self.errorf(format!("unexpected {} in {}", end.describe(), context))
                } else {
                    self.add(list)
                }
            }
            Err(e) => Err(e),
        };
        self.ctx = saved;
        r?;
        Ok(Node::Template(Box::new(TemplateNode {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        })))
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let token = self.next_non_space();
        let name = self.parse_template_name(&token, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, ItemType::RightDelim)?);
        }
        Ok(Node::Template(Box::new(TemplateNode {
            pos: token.pos,
            name,
            pipe,
        })))
    }

    fn parse_template_name(&mut self, token: &Item, context: &str) -> PResult<Rc<str>> {
        match token.typ {
            ItemType::String | ItemType::RawString => match unquote(token.val) {
                Ok(s) => Ok(Rc::from(&*s)),
                Err(e) => self.errorf(e),
            },
            _ => self.unexpected(token, context),
        }
    }

    fn command(&mut self) -> PResult<CommandNode> {
        let pos = self.peek_non_space().pos;
        let mark = self.scratch.args.len();
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                self.scratch.args.push(operand);
            }
            let token = self.next();
            match token.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return self.unexpected(&token, "operand"),
            }
            break;
        }
        let args = take(&mut self.scratch.args, mark);
        if args.is_empty() {
            return self.errorf("empty command");
        }
        Ok(CommandNode { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ == ItemType::Field {
            // The fields follow the term with nothing between them, so the
            // term's path and the fields make one span of the source.
            let chain_pos = self.peek().pos;
            let mut end = chain_pos;
            while self.peek().typ == ItemType::Field {
                let f = self.next();
                end = f.pos + f.val.len();
            }
            return match node {
                Arg::Field(f) => Ok(Some(Arg::Field(FieldNode {
                    pos: chain_pos,
                    ident: Path(self.span(f.ident.0.start, end)),
                }))),
                Arg::Variable(v) => Ok(Some(Arg::Variable(VariableNode {
                    pos: chain_pos,
                    ident: Path(self.span(v.ident.0.start, end)),
                }))),
                Arg::Bool { .. }
                | Arg::String { .. }
                | Arg::Number(_)
                | Arg::Nil { .. }
                | Arg::Dot { .. } => {
                    let q = gofmt::quote(&node.to_string_go());
                    self.errorf(format!("unexpected . after term {q}"))
                }
                other => Ok(Some(Arg::Chain(ChainNode {
                    pos: chain_pos,
                    node: Box::new(other),
                    field: Path(self.span(chain_pos + 1, end)),
                }))),
            };
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        let arg = match token.typ {
            ItemType::Identifier => {
                if !(self.has_function)(token.val) {
                    return self
                        .errorf(format!("function {} not defined", gofmt::quote(token.val)));
                }
                Arg::Identifier {
                    pos,
                    name: self.span_of(&token, 0),
                }
            }
            ItemType::Dot => Arg::Dot { pos },
            ItemType::Nil => Arg::Nil { pos },
            ItemType::Variable => return self.use_var(&token).map(Some),
            ItemType::Field => Arg::Field(FieldNode {
                pos,
                ident: Path(self.span_of(&token, 1)),
            }),
            ItemType::Bool => Arg::Bool {
                pos,
                val: token.val == "true",
            },
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                match new_number(pos, self.span_of(&token, 0), token.typ) {
                    Ok(n) => Arg::Number(n),
                    Err(e) => return self.errorf(e),
                }
            }
            ItemType::LeftParen => {
                if self.ctx.stack_depth >= MAX_STACK_DEPTH {
                    return self.errorf("max expression depth exceeded");
                }
                self.ctx.stack_depth += 1;
                let r = super::stack::grow(|| {
                    self.pipeline("parenthesized pipeline", ItemType::RightParen)
                });
                self.ctx.stack_depth -= 1;
                Arg::Pipe(Box::new(r?))
            }
            ItemType::String | ItemType::RawString => match unquote(token.val) {
                Ok(s) => Arg::String {
                    pos,
                    quoted: self.span_of(&token, 0),
                    text: Rc::from(&*s),
                },
                Err(e) => return self.errorf(e),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(arg))
    }

    fn use_var(&mut self, token: &Item) -> PResult<Arg> {
        let v = self.variable(token);
        if self.ctx.vars.iter().any(|n| *n == v.ident.first()) {
            return Ok(Arg::Variable(v));
        }
        self.errorf(format!(
            "undefined variable {}",
            gofmt::quote(v.ident.first())
        ))
    }

    /// The node of a variable item (`$x`, or `$x.a` as a declaration).
    fn variable(&self, token: &Item) -> VariableNode {
        VariableNode {
            pos: token.pos,
            ident: Path(self.span_of(token, 0)),
        }
    }
}

// ---------------------------------------------------------------------------
// Constants: Go's strconv.Unquote/UnquoteChar/ParseInt/ParseFloat as the
// parser uses them.

/// `strconv.Unquote` for double-quoted and raw strings.
pub fn unquote(s: &str) -> Result<Cow<'_, str>, &'static str> {
    const SYNTAX: &str = "invalid syntax";
    let b = s.as_bytes();
    if b.len() < 2 {
        return Err(SYNTAX);
    }
    let q = b[0];
    if q != b[b.len() - 1] {
        return Err(SYNTAX);
    }
    let inner = &s[1..s.len() - 1];
    match q {
        b'`' => {
            if inner.contains('`') {
                return Err(SYNTAX);
            }
            if !inner.contains('\r') {
                return Ok(Cow::Borrowed(inner));
            }
            Ok(Cow::Owned(inner.replace('\r', "")))
        }
        b'"' | b'\'' => {
            // Most literals have nothing to unescape.
            if q == b'"' && !inner.contains(['\\', '"', '\n']) {
                return Ok(Cow::Borrowed(inner));
            }
            let mut out: Vec<u8> = Vec::with_capacity(inner.len());
            let mut rest = inner;
            let mut count = 0;
            while !rest.is_empty() {
                rest = unquote_char(rest, q as char, &mut out)?;
                count += 1;
            }
            if q == b'\'' && count != 1 {
                return Err(SYNTAX);
            }
            Ok(Cow::Owned(match String::from_utf8(out) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            }))
        }
        _ => Err(SYNTAX),
    }
}

/// `strconv.UnquoteChar`: the encoding of the first (possibly escaped)
/// character of `s` and the rest.
fn unquote_char<'s>(s: &'s str, quote: char, out: &mut Vec<u8>) -> Result<&'s str, &'static str> {
    const SYNTAX: &str = "invalid syntax";
    let mut chars = s.chars();
    let c = chars.next().ok_or(SYNTAX)?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(SYNTAX);
    }
    if c != '\\' {
        if c == '\n' && quote == '"' {
            return Err(SYNTAX);
        }
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        return Ok(chars.as_str());
    }
    let e = chars.next().ok_or(SYNTAX)?;
    let rest = chars.as_str();
    let byte = match e {
        'a' => 7,
        'b' => 8,
        'f' => 12,
        'n' => b'\n',
        'r' => b'\r',
        't' => b'\t',
        'v' => 11,
        '\\' => b'\\',
        '\'' | '"' => {
            if e != quote {
                return Err(SYNTAX);
            }
            e as u8
        }
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            if rest.len() < n || !rest.is_char_boundary(n) {
                return Err(SYNTAX);
            }
            let v = u32::from_str_radix(&rest[..n], 16).map_err(|_| SYNTAX)?;
            if rest[..n].starts_with(['+', '-']) {
                return Err(SYNTAX);
            }
            let tail = &rest[n..];
            if e == 'x' {
                out.push(v as u8);
                return Ok(tail);
            }
            let ch = char::from_u32(v).ok_or(SYNTAX)?;
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            return Ok(tail);
        }
        '0'..='7' => {
            let digits = rest.as_bytes().get(..2).ok_or(SYNTAX)?;
            let mut v = e as u32 - '0' as u32;
            for &d in digits {
                if !(b'0'..=b'7').contains(&d) {
                    return Err(SYNTAX);
                }
                v = v * 8 + (d - b'0') as u32;
            }
            if v > 255 {
                return Err(SYNTAX);
            }
            out.push(v as u8);
            return Ok(&rest[2..]);
        }
        _ => return Err(SYNTAX),
    };
    out.push(byte);
    Ok(rest)
}

enum IntErr {
    Syntax,
    Range,
}

/// `strconv.ParseUint(s, 0, 64)`.
fn parse_uint0(s: &str) -> Result<u64, IntErr> {
    if s.is_empty() {
        return Err(IntErr::Syntax);
    }
    let b = s.as_bytes();
    let (base, digits) =
        if b[0] == b'0' && b.len() >= 3 && matches!(b[1] | 0x20, b'x' | b'o' | b'b') {
            let base = match b[1] | 0x20 {
                b'x' => 16,
                b'o' => 8,
                _ => 2,
            };
            (base, &s[2..])
        } else if b[0] == b'0' && b.len() > 1 {
            (8, &s[1..])
        } else {
            (10, s)
        };
    if s.contains('_') && !gofmt::underscore_ok(s) {
        return Err(IntErr::Syntax);
    }
    let mut n: u64 = 0;
    let mut any = false;
    for c in digits.bytes() {
        if c == b'_' {
            continue;
        }
        let d = (c as char).to_digit(base).ok_or(IntErr::Syntax)? as u64;
        any = true;
        n = n
            .checked_mul(base as u64)
            .and_then(|n| n.checked_add(d))
            .ok_or(IntErr::Range)?;
    }
    if !any {
        return Err(IntErr::Syntax);
    }
    Ok(n)
}

/// `strconv.ParseInt(s, 0, 64)`.
fn parse_int0(s: &str) -> Result<i64, IntErr> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint0(body)?;
    if neg {
        if u > (i64::MAX as u64) + 1 {
            return Err(IntErr::Range);
        }
        Ok((u as i64).wrapping_neg())
    } else {
        i64::try_from(u).map_err(|_| IntErr::Range)
    }
}

/// `strconv.ParseFloat(s, 64)` for the forms the lexer produces.
fn parse_float(s: &str) -> Option<f64> {
    if s.contains('_') && !gofmt::underscore_ok(s) {
        return None;
    }
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'+') => (false, &clean[1..]),
        Some(b'-') => (true, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let lower = body.to_ascii_lowercase();
    let v = if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        if !lower
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-'))
        {
            return None;
        }
        lower.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = match s.split_once('p') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

fn new_number(pos: Pos, span: TextSpan, typ: ItemType) -> Result<NumberNode, String> {
    let text: &str = &span;
    let mut n = NumberNode {
        pos,
        is_int: false,
        is_uint: false,
        is_float: false,
        int64: 0,
        uint64: 0,
        float64: 0.0,
        text: span.clone(),
    };
    if typ == ItemType::CharConstant {
        let mut bytes = Vec::with_capacity(4);
        let tail = unquote_char(&text[1..], '\'', &mut bytes).map_err(|e| e.to_string())?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let r = match std::str::from_utf8(&bytes) {
            Ok(s) => s.chars().next().map_or(0, |c| c as i64),
            Err(_) => bytes.first().copied().unwrap_or(0) as i64,
        };
        n.int64 = r;
        n.is_int = true;
        n.uint64 = r as u64;
        n.is_uint = true;
        n.float64 = r as f64;
        n.is_float = true;
        return Ok(n);
    }
    if typ == ItemType::Complex || text.ends_with('i') {
        return Err(format!("complex constants are not supported: {text}"));
    }
    if let Ok(u) = parse_uint0(text) {
        n.is_uint = true;
        n.uint64 = u;
    }
    if let Ok(i) = parse_int0(text) {
        n.is_int = true;
        n.int64 = i;
        if i == 0 {
            n.is_uint = true;
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float64 = n.int64 as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float64 = n.uint64 as f64;
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", gofmt::quote(text)));
        }
        n.is_float = true;
        n.float64 = f;
        if f.fract() == 0.0 && (-9.223372036854776e18..9.223372036854776e18).contains(&f) {
            n.is_int = true;
            n.int64 = f as i64;
        }
        if f.fract() == 0.0 && (0.0..1.8446744073709552e19).contains(&f) {
            n.is_uint = true;
            n.uint64 = f as u64;
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!("illegal number syntax: {}", gofmt::quote(text)));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_one(text: &str) -> Result<HashMap<Rc<str>, Rc<Tree>>, ParseError> {
        parse("t", text, &|name| {
            matches!(name, "printf" | "include" | "eq")
        })
    }

    fn render_tree(text: &str) -> String {
        let set = parse_one(text).unwrap();
        let mut s = String::new();
        set["t"].root.write_to(&mut s);
        s
    }

    #[test]
    fn round_trips_like_go_string() {
        assert_eq!(render_tree("a{{.x.y}}b"), "a{{.x.y}}b");
        assert_eq!(
            render_tree("{{if eq 1 2}}x{{else if .y}}z{{end}}"),
            "{{if eq 1 2}}x{{else}}{{if .y}}z{{end}}{{end}}"
        );
        assert_eq!(
            render_tree("{{range $i, $e := .l}}{{$e}}{{end}}"),
            "{{range $i, $e := .l}}{{$e}}{{end}}"
        );
        assert_eq!(
            render_tree("{{ (printf \"%d\" 1).x }}"),
            "{{(printf \"%d\" 1).x}}"
        );
    }

    #[test]
    fn go_parse_errors() {
        let err = |t: &str| parse_one(t).unwrap_err().0;
        assert_eq!(err("{{ .x"), "template: t:1: unclosed action");
        assert_eq!(err("{{ end }}"), "template: t:1: unexpected {{end}}");
        assert_eq!(
            err("{{ foo }}"),
            "template: t:1: function \"foo\" not defined"
        );
        assert_eq!(err("{{ $x }}"), "template: t:1: undefined variable \"$x\"");
        assert_eq!(err("{{ if .x }}\n"), "template: t:2: unexpected EOF");
        assert_eq!(
            err("{{ break }}"),
            "template: t:1: {{break}} outside {{range}}"
        );
    }

    fn number(text: &str, typ: ItemType) -> Result<NumberNode, String> {
        new_number(0, TextSpan::range(&Rc::from(text), 0, text.len()), typ)
    }

    #[test]
    fn numbers() {
        let n = number("0x1F", ItemType::Number).unwrap();
        assert!(n.is_int && n.int64 == 31);
        let n = number("1_000", ItemType::Number).unwrap();
        assert_eq!(n.int64, 1000);
        let n = number("1.5e3", ItemType::Number).unwrap();
        assert!(n.is_int && n.float64 == 1500.0);
        let n = number("'a'", ItemType::CharConstant).unwrap();
        assert_eq!(n.int64, 97);
        assert!(number("99999999999999999999", ItemType::Number).is_err());
    }
}

#[cfg(test)]
mod span_tests {
    use super::*;

    #[test]
    fn text_nodes_point_into_the_parsed_source() {
        let src: Rc<str> = Rc::from("a: {{- 1 }}\n  b {{ 2 -}}  \nc");
        let trees = parse_shared("t", &src, &|_| false).expect("parse");
        let texts: Vec<(String, bool)> = trees["t"]
            .root
            .nodes
            .iter()
            .filter_map(|n| match n {
                Node::Text { text, .. } => Some((text.to_string(), Rc::ptr_eq(&text.source, &src))),
                _ => None,
            })
            .collect();
        assert_eq!(
            texts,
            [
                ("a:".into(), true),
                ("\n  b ".into(), true),
                ("c".into(), true)
            ]
        );
        let copy = TextSpan::of(&src, "elsewhere");
        assert_eq!(&*copy, "elsewhere");
        assert!(!Rc::ptr_eq(&copy.source, &src));
    }
}
