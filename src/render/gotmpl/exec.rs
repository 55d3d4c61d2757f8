//! The executor: a port of Go's `text/template/exec.go` walking the parsed
//! trees over [`Value`] data — same variable scoping, same `missingkey=zero`
//! behaviour as Helm (missing keys print `<no value>`), same argument
//! checking and conversion as Go's reflective calls, same error texts and
//! the same "current node" bookkeeping, so errors name the same
//! `file:line:col` and `<context>` as Go. Also Helm's engine-level
//! functions `include`, `tpl` and `lookup`.

use super::error::{WARN_END, WARN_START};
use super::stack::grow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::builtins::{self, Rv, elem};
use super::error::GoError;
use super::parse::{
    Arg, BranchNode, ChainNode, CommandNode, FieldNode, Node, NumberNode, PipeNode, TemplateNode,
    Tree, VariableNode,
};
use super::{FuncTable, is_builtin};
use crate::godata::gofmt;
use crate::godata::named;
use crate::godata::value::{ListKind, MapKind, Value};
use crate::render::funcs::GoType;
use crate::render::lookup::{self, Lookup};

/// Go's `maxExecDepth` for nested `{{template}}` calls.
const MAX_EXEC_DEPTH: usize = 100_000;
/// Helm's `recursionMaxNums` for nested `include` of one name.
const RECURSION_MAX_NUMS: usize = 1000;
/// Nesting beyond which rudder stops to protect its stack (Go's stack grows to 1 GB).
const MAX_NATIVE_DEPTH: usize = 5_000;
/// Nesting bound for `tpl` calls (its error texts nest, so deep chains cost
/// quadratic memory).
const MAX_TPL_DEPTH: usize = 500;
/// The `counts` key under which nested `tpl` calls are counted.
const TPL_KEY: &str = "\0tpl";

/// Templates visible to an execution: a file-level set, or a `tpl` overlay
/// on top of its parent (Helm clones the set for every `tpl` call).
pub struct Namespace<'p> {
    pub local: HashMap<Rc<str>, Rc<Tree>>,
    pub parent: Option<&'p Namespace<'p>>,
}

impl Namespace<'_> {
    pub fn lookup(&self, name: &str) -> Option<Rc<Tree>> {
        match self.local.get(name) {
            Some(t) => Some(t.clone()),
            None => self.parent.and_then(|p| p.lookup(name)),
        }
    }
}

/// What one render shares across templates, includes and `tpl` calls.
pub struct Env<'e> {
    pub ns: &'e Namespace<'e>,
    pub funcs: &'e FuncTable,
    /// Helm's `includedNames`: active include count per template name.
    pub counts: &'e RefCell<HashMap<String, usize>>,
    /// Current nesting of template executions (native stack protection).
    pub depth: &'e std::cell::Cell<usize>,
    /// Remaining execution steps (nodes walked); `u64::MAX` means unlimited.
    pub steps: &'e std::cell::Cell<u64>,
    /// The cluster `lookup` reads, if any.
    pub lookup: Option<&'e dyn Lookup>,
}

/// Control flow out of a walk: `break`, `continue` or an error.
pub enum Flow {
    Break,
    Continue,
    Err(Box<GoError>),
}

type R<T> = Result<T, Flow>;

/// The node the executor is at (Go's `state.node`), for error contexts.
#[derive(Clone, Copy)]
enum At<'t> {
    None,
    Arg(&'t Arg),
    Pipe(&'t PipeNode),
    Cmd(&'t CommandNode),
    Node(&'t Node),
    Template(&'t TemplateNode),
}

impl At<'_> {
    fn pos(&self) -> Option<usize> {
        Some(match self {
            At::None => return None,
            At::Arg(a) => a.pos(),
            At::Pipe(p) => p.pos,
            At::Cmd(c) => c.pos,
            At::Node(n) => node_pos(n),
            At::Template(t) => t.pos,
        })
    }

    fn context(&self) -> String {
        let mut s = String::new();
        match self {
            At::None => {}
            At::Arg(a) => a.write_to(&mut s),
            At::Pipe(p) => p.write_to(&mut s),
            At::Cmd(c) => c.write_to(&mut s),
            At::Node(n) => n.write_to(&mut s),
            At::Template(t) => t.write_to(&mut s),
        }
        s
    }
}

fn node_pos(n: &Node) -> usize {
    match n {
        Node::Text { pos, .. }
        | Node::Comment { pos }
        | Node::Break { pos }
        | Node::Continue { pos } => *pos,
        Node::Action(a) => a.pos,
        Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
        Node::Template(t) => t.pos,
    }
}

/// Executes template `tree` with `data` into `out`.
pub fn execute(env: &Env<'_>, tree: &Tree, data: Rv, out: &mut String) -> Result<(), Box<GoError>> {
    let mut s = State {
        env,
        tree,
        vars: vec![("$", data.clone())],
        node: At::None,
        depth: 0,
    };
    match s.walk_list(&data, &tree.root.nodes, out) {
        Ok(()) => Ok(()),
        Err(Flow::Err(e)) => Err(e),
        Err(_) => Ok(()),
    }
}

struct State<'t, 'e> {
    env: &'e Env<'e>,
    tree: &'t Tree,
    vars: Vec<(&'t str, Rv)>,
    node: At<'t>,
    depth: usize,
}

/// Go's name of a parameter type.
fn go_type_name(t: GoType) -> &'static str {
    match t {
        GoType::Any => "interface {}",
        GoType::String => "string",
        GoType::Int => "int",
        GoType::Int64 => "int64",
        GoType::Float64 => "float64",
        GoType::Bool => "bool",
        GoType::List => "[]interface {}",
        GoType::StringList => "[]string",
        GoType::Map => "map[string]interface {}",
        GoType::Bytes => "[]uint8",
        GoType::Object(n) => n,
    }
}

fn can_be_nil(t: GoType) -> bool {
    matches!(
        t,
        GoType::Any
            | GoType::List
            | GoType::StringList
            | GoType::Map
            | GoType::Bytes
            | GoType::Object(_)
    )
}

/// The zero value handed to a function for a nil argument of a nil-able type.
fn zero_of(t: GoType) -> Value {
    match t {
        GoType::List => Value::list(vec![]),
        GoType::StringList => Value::string_list(vec![]),
        GoType::Map => Value::empty_map(),
        GoType::Bytes => Value::Bytes(Rc::from(&[][..])),
        _ => Value::Nil,
    }
}

fn assignable(v: &Value, t: GoType) -> bool {
    match (t, v) {
        (GoType::Any, _) => true,
        (GoType::String, Value::Str(_)) => true,
        (GoType::Int, Value::Int(_)) => true,
        (GoType::Int64, Value::Int64(_)) => true,
        (GoType::Float64, Value::Float(_)) => true,
        (GoType::Bool, Value::Bool(_)) => true,
        (GoType::List, Value::List(l)) => l.kind.is_interface(),
        (GoType::StringList, Value::List(l)) => {
            matches!(l.kind, ListKind::String | ListKind::VersionSet)
        }
        (GoType::Map, Value::Map(k, _)) => k.is_interface(),
        (GoType::Bytes, Value::Bytes(_)) => true,
        (GoType::Object(n), Value::Object(o)) => o.type_name() == n,
        _ => false,
    }
}

/// A value of a named map or slice type (`common.Values`,
/// `common.VersionSet`) passed for a parameter of the unnamed type: the
/// function sees (and returns) the unnamed type, as Go's conversion does.
fn unnamed(v: Value, typ: GoType) -> Value {
    match (typ, v) {
        (GoType::Map, Value::Map(MapKind::Values, m)) => Value::Map(MapKind::Interface, m),
        (GoType::StringList, Value::List(l)) if l.kind == ListKind::VersionSet => {
            Value::List(Rc::new(crate::godata::value::List {
                kind: ListKind::String,
                items: l.items.clone(),
            }))
        }
        (_, v) => v,
    }
}

fn is_hex_int(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') && !s.contains(['p', 'P'])
}

impl<'t, 'e> State<'t, 'e> {
    fn at(&mut self, node: At<'t>) {
        self.node = node;
    }

    /// Go's `state.errorf`.
    fn error(&self, msg: String) -> Flow {
        Flow::Err(Box::new(self.make_error(msg, None)))
    }

    fn make_error(&self, msg: String, cause: Option<Box<GoError>>) -> GoError {
        let name = &self.tree.name;
        let text = match self.node.pos() {
            None => format!("template: {name}: {msg}"),
            Some(pos) => {
                let location = location(self.tree, pos);
                format!(
                    "template: {location}: executing {} at <{}>: {msg}",
                    gofmt::quote(name),
                    self.node.context()
                )
            }
        };
        GoError {
            text,
            cause,
            exec: true,
        }
    }

    fn errorf<T>(&self, msg: String) -> R<T> {
        Err(self.error(msg))
    }

    fn var_value(&self, name: &str) -> R<Rv> {
        for (n, v) in self.vars.iter().rev() {
            if **n == *name {
                return Ok(v.clone());
            }
        }
        self.errorf(format!("undefined variable: {name}"))
    }

    fn set_var(&mut self, name: &str, value: Rv) -> R<()> {
        for (n, v) in self.vars.iter_mut().rev() {
            if **n == *name {
                *v = value;
                return Ok(());
            }
        }
        self.errorf(format!("undefined variable: {name}"))
    }

    fn set_top_var(&mut self, n: usize, value: Rv) {
        let len = self.vars.len();
        if let Some(slot) = self.vars.get_mut(len - n) {
            slot.1 = value;
        }
    }

    fn walk_list(&mut self, dot: &Rv, nodes: &'t [Node], out: &mut String) -> R<()> {
        for n in nodes {
            self.walk(dot, n, out)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Rv, node: &'t Node, out: &mut String) -> R<()> {
        self.at(At::Node(node));
        let left = self.env.steps.get();
        if left == 0 {
            return self.errorf("execution step limit exceeded".into());
        }
        self.env.steps.set(left - 1);
        match node {
            Node::Action(a) => {
                let val = self.eval_pipeline(dot, &a.pipe)?;
                if a.pipe.decl.is_empty() {
                    self.print_value(node, &val, out);
                }
                Ok(())
            }
            Node::Break { .. } => Err(Flow::Break),
            Node::Continue { .. } => Err(Flow::Continue),
            Node::Comment { .. } => Ok(()),
            Node::If(b) => grow(|| self.walk_if_or_with(false, dot, b, out)),
            Node::With(b) => grow(|| self.walk_if_or_with(true, dot, b, out)),
            Node::Range(b) => grow(|| self.walk_range(dot, node, b, out)),
            Node::Template(t) => grow(|| self.walk_template(dot, t, out)),
            Node::Text { text, .. } => {
                out.push_str(text);
                Ok(())
            }
        }
    }

    fn walk_if_or_with(
        &mut self,
        with: bool,
        dot: &Rv,
        b: &'t BranchNode,
        out: &mut String,
    ) -> R<()> {
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, &b.pipe)?;
            if val.truth() {
                if with {
                    self.walk_list(&val, &b.list.nodes, out)
                } else {
                    self.walk_list(dot, &b.list.nodes, out)
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, &e.nodes, out)
            } else {
                Ok(())
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(
        &mut self,
        dot: &Rv,
        node: &'t Node,
        r: &'t BranchNode,
        out: &mut String,
    ) -> R<()> {
        self.at(At::Node(node));
        let mark = self.vars.len();
        let res = self.walk_range_inner(dot, r, out);
        self.vars.truncate(mark);
        match res {
            Err(Flow::Break) => Ok(()),
            other => other,
        }
    }

    fn walk_range_inner(&mut self, dot: &Rv, r: &'t BranchNode, out: &mut String) -> R<()> {
        let val = self.eval_pipeline(dot, &r.pipe)?.indirect();
        let mark = self.vars.len();
        let mut ran = false;
        // Go map/slice types with methods (`.Files`) range as their collection.
        let val = match val.value() {
            Value::Object(o) => o.collection().map(Rv::Val).unwrap_or(val),
            _ => val,
        };
        match val.value() {
            Value::Int(n) | Value::Int64(n) => {
                if r.pipe.decl.len() > 1 {
                    return self.errorf(format!(
                        "can't use {} to iterate over more than one variable",
                        gofmt::format_value(&val.value())
                    ));
                }
                let is64 = matches!(val.value(), Value::Int64(_));
                for i in 0..n.max(0) {
                    ran = true;
                    let e = if is64 { Value::Int64(i) } else { Value::Int(i) };
                    if self.one_iteration(r, mark, Rv::Invalid, Rv::Val(e), out)? {
                        break;
                    }
                }
            }
            Value::List(l) => {
                let iface = l.kind.is_interface();
                for (i, e) in l.items.iter().enumerate() {
                    ran = true;
                    if self.one_iteration(
                        r,
                        mark,
                        Rv::Val(Value::Int(i as i64)),
                        elem(e.clone(), iface),
                        out,
                    )? {
                        break;
                    }
                }
            }
            Value::Bytes(b) => {
                for (i, e) in b.iter().enumerate() {
                    ran = true;
                    let index = Rv::Val(Value::Int(i as i64));
                    if self.one_iteration(r, mark, index, Rv::Val(Value::Int(*e as i64)), out)? {
                        break;
                    }
                }
            }
            Value::Map(kind, m) => {
                let iface = kind.is_interface();
                let entries: Vec<(String, Value)> = m
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (k, v) in entries {
                    ran = true;
                    if self.one_iteration(r, mark, Rv::Val(Value::str(k)), elem(v, iface), out)? {
                        break;
                    }
                }
            }
            Value::Nil => {}
            other => {
                return self.errorf(format!(
                    "range can't iterate over {}",
                    gofmt::format_value(&other)
                ));
            }
        }
        if !ran && let Some(e) = &r.else_list {
            return self.walk_list(dot, &e.nodes, out);
        }
        Ok(())
    }

    /// One range iteration; `Ok(true)` on `break`.
    fn one_iteration(
        &mut self,
        r: &'t BranchNode,
        mark: usize,
        index: Rv,
        elem: Rv,
        out: &mut String,
    ) -> R<bool> {
        let left = self.env.steps.get();
        if left == 0 {
            return self.errorf("execution step limit exceeded".into());
        }
        self.env.steps.set(left - 1);
        let decl = &r.pipe.decl;
        if !decl.is_empty() {
            if r.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(decl[0].ident.first(), index.clone())?;
                } else {
                    self.set_var(decl[0].ident.first(), elem.clone())?;
                }
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if r.pipe.is_assign {
                self.set_var(decl[1].ident.first(), elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let res = self.walk_list(&elem, &r.list.nodes, out);
        self.vars.truncate(mark);
        match res {
            Ok(()) | Err(Flow::Continue) => Ok(false),
            Err(Flow::Break) => Ok(true),
            Err(e) => Err(e),
        }
    }

    fn walk_template(&mut self, dot: &Rv, t: &'t TemplateNode, out: &mut String) -> R<()> {
        self.at(At::Template(t));
        let Some(tmpl) = self.env.ns.lookup(&t.name) else {
            return self.errorf(format!("template {} not defined", gofmt::quote(&t.name)));
        };
        if self.depth == MAX_EXEC_DEPTH || self.env.depth.get() >= MAX_NATIVE_DEPTH {
            return self.errorf(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            ));
        }
        let dot = match &t.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Rv::Invalid,
        };
        let mut inner = State {
            env: self.env,
            tree: &tmpl,
            vars: vec![("$", dot.clone())],
            node: At::None,
            depth: self.depth + 1,
        };
        self.env.depth.set(self.env.depth.get() + 1);
        let r = inner.walk_list(&dot, &tmpl.root.nodes, out);
        self.env.depth.set(self.env.depth.get() - 1);
        match r {
            Err(Flow::Err(e)) => Err(Flow::Err(e)),
            _ => Ok(()),
        }
    }

    fn eval_pipeline(&mut self, dot: &Rv, pipe: &'t PipeNode) -> R<Rv> {
        self.at(At::Pipe(pipe));
        let mut value: Option<Rv> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(match v {
                Rv::Iface(Value::Nil) | Rv::Val(Value::Nil) => Rv::Invalid,
                Rv::Iface(v) => Rv::Val(v),
                other => other,
            });
        }
        let value = value.unwrap_or(Rv::Invalid);
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(var.ident.first(), value.clone())?;
            } else {
                self.vars.push((var.ident.first(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &'t [Arg], fin: &Option<Rv>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return self.errorf(format!(
                "can't give argument to non-function {}",
                args[0].to_string_go()
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Rv, cmd: &'t CommandNode, fin: Option<Rv>) -> R<Rv> {
        let first = &cmd.args[0];
        match first {
            Arg::Field(f) => return self.eval_field_node(dot, first, f, &cmd.args, fin),
            Arg::Chain(c) => return self.eval_chain_node(dot, first, c, &cmd.args, fin),
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, first, name, At::Cmd(cmd), &cmd.args, fin);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return grow(|| self.eval_pipeline(dot, p));
            }
            Arg::Variable(v) => return self.eval_variable_node(dot, first, v, &cmd.args, fin),
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool { val, .. } => Ok(Rv::Val(Value::Bool(*val))),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => self.errorf("nil is not a command".into()),
            Arg::Number(n) => self.ideal_constant(first, n),
            Arg::String { text, .. } => Ok(Rv::Val(Value::Str(text.clone()))),
            _ => self.errorf(format!(
                "can't evaluate command {}",
                gofmt::quote(&first.to_string_go())
            )),
        }
    }

    fn ideal_constant(&mut self, node: &'t Arg, c: &NumberNode) -> R<Rv> {
        self.at(At::Arg(node));
        let text: &str = &c.text;
        if c.is_float
            && !is_hex_int(text)
            && !text.starts_with('\'')
            && text.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Rv::Val(Value::Float(c.float64)));
        }
        if c.is_int {
            return Ok(Rv::Val(Value::Int(c.int64)));
        }
        if c.is_uint {
            return self.errorf(format!("{text} overflows int"));
        }
        Ok(Rv::Invalid)
    }

    fn eval_field_node(
        &mut self,
        dot: &Rv,
        node: &'t Arg,
        f: &'t FieldNode,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(At::Arg(node));
        self.eval_field_chain(dot, dot.clone(), node, f.ident.as_str(), args, fin)
    }

    fn eval_chain_node(
        &mut self,
        dot: &Rv,
        node: &'t Arg,
        c: &'t ChainNode,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(At::Arg(node));
        if let Arg::Nil { .. } = c.node.as_ref() {
            return self.errorf(format!(
                "indirection through explicit nil in {}",
                node.to_string_go()
            ));
        }
        let pipe = self.eval_arg_rv(dot, &c.node)?;
        self.eval_field_chain(dot, pipe, node, c.field.as_str(), args, fin)
    }

    fn eval_variable_node(
        &mut self,
        dot: &Rv,
        node: &'t Arg,
        v: &'t VariableNode,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(At::Arg(node));
        let value = self.var_value(v.ident.first())?;
        let Some(fields) = v.ident.rest() else {
            self.not_a_function(args, &fin)?;
            return Ok(value);
        };
        self.eval_field_chain(dot, value, node, fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Rv,
        mut receiver: Rv,
        node: &'t Arg,
        path: &'t str,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        let mut names = path.split('.');
        let mut name = names.next().unwrap_or_default();
        // Every name but the last is a plain field access.
        for next in names {
            receiver = self.eval_field(dot, name, node, &[], None, receiver)?;
            name = next;
        }
        self.eval_field(dot, name, node, args, fin, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Rv,
        name: &str,
        node: &'t Arg,
        args: &'t [Arg],
        fin: Option<Rv>,
        receiver: Rv,
    ) -> R<Rv> {
        let (typ, v) = match receiver {
            Rv::Invalid | Rv::Val(Value::Nil) => return Ok(Rv::Invalid),
            Rv::Iface(Value::Nil) => {
                return self.errorf(format!("nil pointer evaluating interface {{}}.{name}"));
            }
            Rv::Iface(v) => (true, v),
            Rv::Val(v) => (false, v),
        };
        let has_args = args.len() > 1 || fin.is_some();
        let methods = match &v {
            Value::Object(o) => Some(o.clone()),
            other => named::methods_of(other),
        };
        if let Some(o) = methods.filter(|o| o.method(name).is_some()) {
            return self.eval_method(dot, o, name, node, args, fin);
        }
        match &v {
            Value::Object(o) => {
                if let Some(field) = o.field(name) {
                    if has_args {
                        return self.errorf(format!(
                            "{name} has arguments but cannot be invoked as function"
                        ));
                    }
                    return Ok(match field {
                        Value::Nil => Rv::Iface(Value::Nil),
                        f => Rv::Val(f),
                    });
                }
            }
            Value::Map(kind, m) => {
                if has_args {
                    return self.errorf(format!("{name} is not a method but has arguments"));
                }
                return Ok(map_field(*kind, &m.borrow(), name));
            }
            _ => {}
        }
        let typ = if typ { "interface {}" } else { v.type_name() };
        self.errorf(format!("can't evaluate field {name} in type {typ}"))
    }

    fn eval_method(
        &mut self,
        dot: &Rv,
        o: Rc<dyn crate::godata::value::Object>,
        name: &str,
        node: &'t Arg,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        let params = o.method(name).unwrap_or_default();
        let rest = args.get(1..).unwrap_or_default();
        self.check_arity(name, params.len(), false, rest.len(), fin.is_some())?;
        let argv = self.eval_args_typed(dot, params, None, rest, fin)?;
        match o.call(name, &argv) {
            Ok(v) => Ok(if v.is_nil() { Rv::Invalid } else { Rv::Val(v) }),
            Err(e) => {
                self.at(At::Arg(node));
                let cause = GoError {
                    text: e,
                    cause: None,
                    exec: false,
                };
                Err(self.call_error(name, cause))
            }
        }
    }

    /// `error calling NAME: ERR` wrapping `cause`.
    fn call_error(&self, name: &str, cause: GoError) -> Flow {
        let msg = format!("error calling {name}: {}", cause.text);
        Flow::Err(Box::new(self.make_error(msg, Some(Box::new(cause)))))
    }

    fn eval_function(
        &mut self,
        dot: &Rv,
        node: &'t Arg,
        name: &str,
        cmd: At<'t>,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv>
    where
        Self: Sized,
    {
        self.at(At::Arg(node));
        self.call_function(dot, name, cmd, args, fin)
    }

    fn call_function(
        &mut self,
        dot: &Rv,
        name: &str,
        cmd: At<'t>,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        let rest = if args.is_empty() { args } else { &args[1..] };
        match name {
            "include" | "tpl" | "lookup" if !self.env.funcs.overrides(name) => {
                return self.call_engine(dot, name, cmd, rest, fin);
            }
            _ => {}
        }
        if let Some(spec) = self.env.funcs.get(name) {
            return self.call_spec(dot, spec, cmd, rest, fin);
        }
        if is_builtin(name) {
            return self.call_builtin(dot, name, cmd, rest, fin);
        }
        self.errorf(format!("{} is not a defined function", gofmt::quote(name)))
    }

    /// Checks the argument count like Go's `evalCall`.
    fn check_arity(
        &self,
        name: &str,
        fixed: usize,
        variadic: bool,
        nargs: usize,
        has_final: bool,
    ) -> R<()> {
        let num_in = nargs + usize::from(has_final);
        if variadic {
            if num_in < fixed {
                return self.errorf(format!(
                    "wrong number of args for {name}: want at least {fixed} got {nargs}"
                ));
            }
        } else if num_in != fixed {
            return self.errorf(format!(
                "wrong number of args for {name}: want {fixed} got {num_in}"
            ));
        }
        Ok(())
    }

    /// Evaluates arguments against Go parameter types (Go's `evalCall`).
    fn eval_args_typed(
        &mut self,
        dot: &Rv,
        params: &[GoType],
        variadic: Option<GoType>,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Vec<Value>> {
        let num_fixed = params.len();
        let num_in = args.len() + usize::from(fin.is_some());
        let mut argv = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            argv.push(self.eval_arg(dot, params[i], &args[i])?);
            i += 1;
        }
        if let Some(vt) = variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, vt, &args[i])?);
                i += 1;
            }
        }
        if let Some(f) = fin {
            let t = match variadic {
                Some(vt) => {
                    if num_in - 1 < num_fixed {
                        params[num_in - 1]
                    } else {
                        vt
                    }
                }
                None => params.last().copied().unwrap_or(GoType::Any),
            };
            argv.push(self.validate_type(f, t)?);
        }
        Ok(argv)
    }

    fn call_spec(
        &mut self,
        dot: &Rv,
        spec: &crate::render::funcs::FuncSpec,
        cmd: At<'t>,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.check_arity(
            spec.name,
            spec.params.len(),
            spec.variadic.is_some(),
            args.len(),
            fin.is_some(),
        )?;
        let argv = self.eval_args_typed(dot, spec.params, spec.variadic, args, fin)?;
        match (spec.call)(&argv) {
            Ok(v) => Ok(if v.is_nil() { Rv::Invalid } else { Rv::Val(v) }),
            Err(e) => {
                self.at(cmd);
                let mut text = e.0;
                if matches!(spec.name, "fail" | "required") && !text.contains(WARN_START) {
                    text = format!("{WARN_START}{text}{WARN_END}");
                }
                Err(self.call_error(
                    spec.name,
                    GoError {
                        text,
                        cause: None,
                        exec: false,
                    },
                ))
            }
        }
    }

    fn fail_call<T>(&mut self, cmd: At<'t>, name: &str, msg: String) -> R<T> {
        self.at(cmd);
        Err(self.call_error(
            name,
            GoError {
                text: msg,
                cause: None,
                exec: false,
            },
        ))
    }

    fn call_builtin(
        &mut self,
        dot: &Rv,
        name: &str,
        cmd: At<'t>,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        let (fixed, variadic) = match name {
            "and" | "or" | "index" | "slice" | "eq" | "call" => (1, true),
            "not" | "len" => (1, false),
            "ne" | "lt" | "le" | "gt" | "ge" => (2, false),
            "printf" => (1, true),
            _ => (0, true),
        };
        self.check_arity(name, fixed, variadic, args.len(), fin.is_some())?;
        if name == "and" || name == "or" {
            let want = name == "or";
            let mut v = Rv::Invalid;
            for a in args {
                v = self.eval_arg_rv(dot, a)?;
                if v.truth() == want {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        match name {
            "print" | "println" | "printf" | "html" | "js" | "urlquery" => {
                let params: &[GoType] = if name == "printf" {
                    &[GoType::String]
                } else {
                    &[]
                };
                let argv = self.eval_args_typed(dot, params, Some(GoType::Any), args, fin)?;
                let s = match name {
                    "print" => gofmt::sprint(&argv),
                    "println" => gofmt::sprintln(&argv),
                    "printf" => {
                        let f = argv[0].as_str().unwrap_or("").to_string();
                        gofmt::sprintf(&f, &argv[1..])
                    }
                    "html" => builtins::html_escape(&builtins::eval_args(&argv)),
                    "js" => builtins::js_escape(&builtins::eval_args(&argv)),
                    _ => builtins::url_query_escape(&builtins::eval_args(&argv)),
                };
                return Ok(Rv::Val(Value::str(s)));
            }
            _ => {}
        }
        let mut argv: Vec<Rv> = Vec::with_capacity(args.len() + 1);
        for a in args {
            argv.push(self.eval_arg_rv(dot, a)?);
        }
        if let Some(f) = fin {
            argv.push(f);
        }
        let res: Result<Rv, String> = match name {
            "not" => Ok(Rv::Val(Value::Bool(!argv[0].truth()))),
            "len" => builtins::length(&argv[0]).map(Rv::Val),
            "index" => builtins::index(&argv[0], &argv[1..]),
            "slice" => builtins::slice(&argv[0], &argv[1..]),
            "eq" => builtins::eq(&argv[0], &argv[1..]).map(|b| Rv::Val(Value::Bool(b))),
            "ne" => builtins::ne(&argv[0], &argv[1]).map(|b| Rv::Val(Value::Bool(b))),
            "lt" => builtins::lt(&argv[0], &argv[1]).map(|b| Rv::Val(Value::Bool(b))),
            "le" => builtins::le(&argv[0], &argv[1]).map(|b| Rv::Val(Value::Bool(b))),
            "gt" => builtins::gt(&argv[0], &argv[1]).map(|b| Rv::Val(Value::Bool(b))),
            "ge" => builtins::ge(&argv[0], &argv[1]).map(|b| Rv::Val(Value::Bool(b))),
            "call" => {
                let callee = match args.first() {
                    Some(a) => a.to_string_go(),
                    None => gofmt::format_value(&argv[0].value()),
                };
                match argv[0].indirect() {
                    Rv::Invalid => Err("call of nil".into()),
                    other => Err(format!(
                        "non-function {callee} of type {}",
                        other.type_name()
                    )),
                }
            }
            _ => Err(format!("{} is not a defined function", gofmt::quote(name))),
        };
        match res {
            Ok(v) => Ok(v),
            Err(e) => self.fail_call(cmd, name, e),
        }
    }

    // ----- Helm's engine functions

    fn call_engine(
        &mut self,
        dot: &Rv,
        name: &str,
        cmd: At<'t>,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        match name {
            "lookup" => {
                let p = [GoType::String; 4];
                self.check_arity(name, 4, false, args.len(), fin.is_some())?;
                let argv = self.eval_args_typed(dot, &p, None, args, fin)?;
                let Some(cluster) = self.env.lookup else {
                    return Ok(Rv::Val(Value::empty_map()));
                };
                let arg = |i: usize| argv.get(i).and_then(Value::as_str).unwrap_or("");
                match lookup::call(cluster, arg(0), arg(1), arg(2), arg(3)) {
                    Ok(found) => Ok(Rv::Val(found)),
                    Err(e) => self.fail_call(cmd, name, e.to_string()),
                }
            }
            "include" => {
                let p = [GoType::String, GoType::Any];
                self.check_arity(name, 2, false, args.len(), fin.is_some())?;
                let argv = self.eval_args_typed(dot, &p, None, args, fin)?;
                let tname = argv[0].as_str().unwrap_or("").to_string();
                match self.include(&tname, &argv[1]) {
                    Ok(s) => Ok(Rv::Val(Value::str(s))),
                    Err(e) => {
                        self.at(cmd);
                        Err(self.call_error(name, e))
                    }
                }
            }
            _ => {
                let p = [GoType::String, GoType::Any];
                self.check_arity(name, 2, false, args.len(), fin.is_some())?;
                let argv = self.eval_args_typed(dot, &p, None, args, fin)?;
                let text = argv[0].as_str().unwrap_or("").to_string();
                match tpl(self.env, &text, &argv[1]) {
                    Ok(s) => Ok(Rv::Val(Value::str(s))),
                    Err(e) => {
                        self.at(cmd);
                        Err(self.call_error(name, e))
                    }
                }
            }
        }
    }

    /// Helm's `include`: executes a named template into a string.
    fn include(&mut self, name: &str, data: &Value) -> Result<String, GoError> {
        {
            let mut counts = self.env.counts.borrow_mut();
            let active = counts.get(name).copied().unwrap_or(0);
            if active > RECURSION_MAX_NUMS || self.env.depth.get() >= MAX_NATIVE_DEPTH {
                return Err(GoError {
                    text: format!(
                        "rendering template has a nested reference name: {name}: unable to execute template"
                    ),
                    cause: None,
                    exec: false,
                });
            }
            // The name is copied only the first time it is included.
            match counts.get_mut(name) {
                Some(c) => *c += 1,
                None => {
                    counts.insert(name.to_string(), 1);
                }
            }
        }
        let r = execute_named(self.env, name, data);
        if let Some(c) = self.env.counts.borrow_mut().get_mut(name) {
            *c -= 1;
        }
        r
    }

    /// Go's `evalArg` with a `reflect.Value` parameter (the builtins).
    fn eval_arg_rv(&mut self, dot: &Rv, n: &'t Arg) -> R<Rv> {
        self.at(At::Arg(n));
        match n {
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Ok(Rv::Invalid),
            Arg::Field(f) => self.eval_field_node(dot, n, f, std::slice::from_ref(n), None),
            Arg::Variable(v) => self.eval_variable_node(dot, n, v, &[], None),
            Arg::Pipe(p) => grow(|| self.eval_pipeline(dot, p)),
            Arg::Identifier { name, .. } => self.eval_function(dot, n, name, At::Arg(n), &[], None),
            Arg::Chain(c) => self.eval_chain_node(dot, n, c, &[], None),
            Arg::Bool { val, .. } => Ok(Rv::Val(Value::Bool(*val))),
            Arg::Number(num) => self.ideal_constant(n, num),
            Arg::String { text, .. } => Ok(Rv::Val(Value::Str(text.clone()))),
        }
    }

    /// Go's `evalArg` for a parameter of type `typ`.
    fn eval_arg(&mut self, dot: &Rv, typ: GoType, n: &'t Arg) -> R<Value> {
        self.at(At::Arg(n));
        match n {
            Arg::Dot { .. } => return self.validate_type(dot.clone(), typ),
            Arg::Nil { .. } => {
                if can_be_nil(typ) {
                    return Ok(zero_of(typ));
                }
                return self.errorf(format!("cannot assign nil to {}", go_type_name(typ)));
            }
            Arg::Field(f) => {
                let v = self.eval_field_node(dot, n, f, std::slice::from_ref(n), None)?;
                return self.validate_type(v, typ);
            }
            Arg::Variable(v) => {
                let v = self.eval_variable_node(dot, n, v, &[], None)?;
                return self.validate_type(v, typ);
            }
            Arg::Pipe(p) => {
                let v = grow(|| self.eval_pipeline(dot, p))?;
                return self.validate_type(v, typ);
            }
            Arg::Identifier { name, .. } => {
                let v = self.eval_function(dot, n, name, At::Arg(n), &[], None)?;
                return self.validate_type(v, typ);
            }
            Arg::Chain(c) => {
                let v = self.eval_chain_node(dot, n, c, &[], None)?;
                return self.validate_type(v, typ);
            }
            _ => {}
        }
        // Go prints the node only in the error texts.
        let found = || n.to_string_go();
        match typ {
            GoType::Bool => match n {
                Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
                _ => self.errorf(format!("expected bool; found {}", found())),
            },
            GoType::Float64 => match n {
                Arg::Number(num) if num.is_float => Ok(Value::Float(num.float64)),
                _ => self.errorf(format!("expected float; found {}", found())),
            },
            GoType::Int | GoType::Int64 => match n {
                Arg::Number(num) if num.is_int => Ok(if typ == GoType::Int {
                    Value::Int(num.int64)
                } else {
                    Value::Int64(num.int64)
                }),
                _ => self.errorf(format!("expected integer; found {}", found())),
            },
            GoType::String => match n {
                Arg::String { text, .. } => Ok(Value::Str(text.clone())),
                _ => self.errorf(format!("expected string; found {}", found())),
            },
            GoType::Any => match n {
                Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
                Arg::Number(num) => Ok(self.ideal_constant(n, num)?.value()),
                Arg::String { text, .. } => Ok(Value::Str(text.clone())),
                _ => self.errorf(format!(
                    "can't handle assignment of {} to empty interface argument",
                    found()
                )),
            },
            other => self.errorf(format!(
                "can't handle {} for arg of type {}",
                found(),
                go_type_name(other)
            )),
        }
    }

    /// Go's `validateType`.
    fn validate_type(&self, value: Rv, typ: GoType) -> R<Value> {
        match value {
            Rv::Invalid | Rv::Val(Value::Nil) => {
                if can_be_nil(typ) {
                    return Ok(zero_of(typ));
                }
                self.errorf(format!("invalid value; expected {}", go_type_name(typ)))
            }
            Rv::Iface(Value::Nil) => {
                if typ == GoType::Any {
                    return Ok(Value::Nil);
                }
                self.errorf(format!(
                    "wrong type for value; expected {}; got interface {{}}",
                    go_type_name(typ)
                ))
            }
            Rv::Iface(v) | Rv::Val(v) => {
                if assignable(&v, typ) {
                    return Ok(unnamed(v, typ));
                }
                self.errorf(format!(
                    "wrong type for value; expected {}; got {}",
                    go_type_name(typ),
                    v.type_name()
                ))
            }
        }
    }

    fn print_value(&mut self, node: &'t Node, v: &Rv, out: &mut String) {
        self.at(At::Node(node));
        match v {
            Rv::Invalid | Rv::Val(Value::Nil) | Rv::Iface(Value::Nil) => out.push_str("<no value>"),
            Rv::Iface(v) | Rv::Val(v) => match v {
                Value::Str(s) => out.push_str(s),
                Value::Int(i) | Value::Int64(i) => {
                    let _ = std::fmt::Write::write_fmt(out, format_args!("{i}"));
                }
                Value::Object(o) => match o.addressable_string() {
                    Some(s) => out.push_str(&s),
                    None => out.push_str(&gofmt::format_value(v)),
                },
                other => out.push_str(&gofmt::format_value(other)),
            },
        }
    }
}

/// A map lookup by field name; a missing key gives the zero value of the
/// map's element type (Helm's `missingkey=zero`).
fn map_field(kind: MapKind, m: &crate::godata::value::Map, name: &str) -> Rv {
    let iface = kind.is_interface();
    match m.get(name) {
        Some(x) => elem(x.clone(), iface),
        None if iface => Rv::Iface(Value::Nil),
        None => Rv::Val(Value::str("")),
    }
}

/// `file:line:col` of a byte position in a tree (Go's `ErrorContext`).
pub fn location(tree: &Tree, pos: usize) -> String {
    let text = tree.text.get(..pos).unwrap_or(&tree.text);
    let col = match text.rfind('\n') {
        Some(i) => pos - (i + 1),
        None => pos,
    };
    let line = 1 + text.matches('\n').count();
    format!("{}:{line}:{col}", tree.parse_name)
}

/// Executes the template `name` of the environment's namespace with `data`
/// (Go's `ExecuteTemplate`); nesting-aware, used by `include`.
pub fn execute_named(env: &Env<'_>, name: &str, data: &Value) -> Result<String, GoError> {
    let Some(tree) = env.ns.lookup(name) else {
        return Err(GoError {
            text: format!(
                "template: no template {} associated with template \"gotpl\"",
                gofmt::quote(name)
            ),
            cause: None,
            exec: false,
        });
    };
    let dot = if data.is_nil() {
        Rv::Invalid
    } else {
        Rv::Val(data.clone())
    };
    let mut out = String::new();
    env.depth.set(env.depth.get() + 1);
    let r = grow(|| execute(env, &tree, dot, &mut out));
    env.depth.set(env.depth.get() - 1);
    r.map(|()| out).map_err(|e| *e)
}

/// Helm's `tpl`: parses `text` as template "gotpl" over a clone of the
/// current namespace and executes it with `vals`.
fn tpl(env: &Env<'_>, text: &str, vals: &Value) -> Result<String, GoError> {
    // Helm has no bound on nested `tpl` (its Go process dies when the 1 GB
    // stack is exhausted); rudder stops with an error instead.
    let nested = env.counts.borrow().get(TPL_KEY).copied().unwrap_or(0);
    if nested >= MAX_TPL_DEPTH || env.depth.get() >= MAX_NATIVE_DEPTH {
        return Err(GoError {
            text: format!("exceeded maximum tpl depth ({MAX_TPL_DEPTH})"),
            cause: None,
            exec: false,
        });
    }
    *env.counts
        .borrow_mut()
        .entry(TPL_KEY.to_string())
        .or_insert(0) += 1;
    let r = tpl_nested(env, text, vals);
    if let Some(c) = env.counts.borrow_mut().get_mut(TPL_KEY) {
        *c -= 1;
    }
    r
}

fn tpl_nested(env: &Env<'_>, text: &str, vals: &Value) -> Result<String, GoError> {
    let funcs = env.funcs;
    let trees = match super::parse::parse("gotpl", text, &|n| funcs.has(n)) {
        Ok(t) => t,
        Err(e) => {
            let inner = GoError {
                text: e.0,
                cause: None,
                exec: false,
            };
            return Err(GoError {
                text: format!(
                    "cannot parse template {}: {}",
                    gofmt::quote(text),
                    inner.text
                ),
                cause: Some(Box::new(inner)),
                exec: false,
            });
        }
    };
    let mut local = HashMap::new();
    for (name, tree) in trees {
        if super::parse::is_empty_list(&tree.root)
            && env.ns.lookup(&name).is_some()
            && &*name != "gotpl"
        {
            continue;
        }
        local.insert(name, tree);
    }
    let ns = Namespace {
        local,
        parent: Some(env.ns),
    };
    let sub = Env {
        ns: &ns,
        funcs: env.funcs,
        counts: env.counts,
        depth: env.depth,
        steps: env.steps,
        lookup: env.lookup,
    };
    match execute_named(&sub, "gotpl", vals) {
        Ok(s) => Ok(s.replace("<no value>", "")),
        Err(inner) => Err(GoError {
            text: format!(
                "error during tpl function execution for {}: {}",
                gofmt::quote(text),
                inner.text
            ),
            cause: Some(Box::new(inner)),
            exec: false,
        }),
    }
}
