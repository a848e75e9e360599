//! MLflow's search grammar and ordering, as its own server applies them to `runs/search` and
//! `experiments/search` (`mlflow.utils.search_utils` and the SQL store):
//!
//! ```text
//! filter     := comparison ( AND comparison )*
//! comparison := identifier comparator value | identifier IS [NOT] NULL
//! identifier := [entity "."] key        entity: metric(s) | param(s) | parameter(s) | tag(s)
//!                                       | attribute(s) | attr | run; no entity: an attribute
//! key        := word | `quoted` | "quoted"
//! value      := 'string' | "string" | number | ( 'string' , … )
//! order_by   := identifier [ASC | DESC]
//! ```
//!
//! A tokenizer and a recursive-descent parser, then the rules of evaluation: a run without the
//! key never matches (except `IS NULL`); metrics compare as numbers, params and tags as strings
//! (`LIKE` case-sensitive, `ILIKE` not, `%` and `_` wildcards); `IN` only on `run_id`. Ordering
//! sorts runs that have the key first (for metrics: numbers, then NaN, then missing), whatever the
//! direction, then by the key, then by start time (newest first) unless that was ordered on, then
//! by run id.

use std::cmp::Ordering;

use super::error::{MlflowError, Result};
use crate::tracking::{ExperimentRow, FullRun, LoggedModelRow};

// Tokens -------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A bare word: an identifier (possibly dotted, with quoted parts) or a keyword.
    Word(String),
    /// A single-quoted string.
    Str(String),
    /// A double-quoted string (a value, or a quoted key).
    Quoted(String),
    Number(String),
    Op(&'static str),
    Open,
    Close,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = vec![];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '\'' | '"' => {
                let (s, next) = quoted(&chars, i)?;
                tokens.push(if c == '\'' { Token::Str(s) } else { Token::Quoted(s) });
                i = next;
            }
            '=' => {
                tokens.push(Token::Op("="));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                tokens.push(Token::Op("!="));
                i += 2;
            }
            '<' | '>' => {
                let (op, width) = match (c, chars.get(i + 1)) {
                    ('<', Some('=')) => ("<=", 2),
                    ('>', Some('=')) => (">=", 2),
                    ('<', Some('>')) => ("!=", 2),
                    ('<', _) => ("<", 1),
                    _ => (">", 1),
                };
                tokens.push(Token::Op(op));
                i += width;
            }
            c if c.is_ascii_digit() || ((c == '-' || c == '+' || c == '.') && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit() || *d == '.')) => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E'))) {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                if text.parse::<f64>().is_err() {
                    return Err(MlflowError::invalid(format!("invalid number {text:?} in the filter")));
                }
                tokens.push(Token::Number(text));
            }
            c if c.is_alphanumeric() || c == '_' || c == '`' => {
                // A word runs to whitespace or an operator; quoted parts (`…`, "…") may hold anything.
                let mut word = String::new();
                while i < chars.len() {
                    let c = chars[i];
                    if c == '`' || (c == '"' && word.ends_with('.')) {
                        let (s, next) = quoted(&chars, i)?;
                        word.push(c);
                        word.push_str(&s);
                        word.push(c);
                        i = next;
                    } else if c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | ':' | '/') {
                        word.push(c);
                        i += 1;
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Word(word));
            }
            other => return Err(MlflowError::invalid(format!("unexpected character {other:?} in the filter {text:?}"))),
        }
    }
    Ok(tokens)
}

/// The text of a quoted part starting at `chars[start]`, and the index after its closing quote.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize)> {
    let quote = chars[start];
    let mut i = start + 1;
    let mut s = String::new();
    while i < chars.len() {
        if chars[i] == quote {
            return Ok((s, i + 1));
        }
        s.push(chars[i]);
        i += 1;
    }
    Err(MlflowError::invalid(format!("unterminated quote {quote} in the filter")))
}

// Identifiers --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entity {
    Metric,
    Param,
    Tag,
    Attribute,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Key {
    pub entity: Entity,
    pub name: String,
}

/// Which search this is: the attribute keys each accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Subject {
    Runs,
    Experiments,
    LoggedModels,
}

impl Subject {
    fn attributes(self) -> &'static [&'static str] {
        match self {
            Subject::Runs => &["artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id"],
            Subject::Experiments => &["creation_time", "experiment_id", "last_update_time", "name"],
            Subject::LoggedModels => &["creation_timestamp", "last_updated_timestamp", "model_id", "model_type", "name", "source_run_id", "status"],
        }
    }

    fn numeric(self, key: &str) -> bool {
        matches!(key, "start_time" | "end_time" | "creation_time" | "last_update_time" | "creation_timestamp" | "last_updated_timestamp")
    }
}

fn strip_quotes(s: &str) -> &str {
    for q in ['`', '"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

fn identifier(text: &str, subject: Subject) -> Result<Key> {
    let (entity, key) = match text.split_once('.') {
        None => (Entity::Attribute, text),
        Some((entity, key)) => {
            let entity = match (subject, strip_quotes(entity)) {
                (Subject::Runs, "metric" | "metrics") => Entity::Metric,
                (Subject::Runs | Subject::LoggedModels, "param" | "params" | "parameter" | "parameters") => Entity::Param,
                (_, "tag" | "tags") => Entity::Tag,
                (Subject::Runs | Subject::LoggedModels, "attribute" | "attributes" | "attr" | "run") | (Subject::Experiments, "attribute") => Entity::Attribute,
                (_, other) => {
                    let valid = if subject == Subject::Experiments { "attribute, tag" } else { "metric, parameter, tag, attribute" };
                    return Err(MlflowError::invalid(format!("Invalid entity type '{other}'. Valid values are {valid}")));
                }
            };
            (entity, key)
        }
    };
    let mut name = strip_quotes(key).to_string();
    if entity == Entity::Attribute {
        name = match name.as_str() {
            "created" | "Created" if subject == Subject::Runs => "start_time".into(),
            "run name" | "Run name" | "Run Name" if subject == Subject::Runs => "run_name".into(),
            _ => name,
        };
        if !subject.attributes().contains(&name.as_str()) {
            return Err(MlflowError::invalid(format!("Invalid attribute key '{name}' specified. Valid keys are {:?}", subject.attributes())));
        }
    }
    if name.is_empty() {
        return Err(MlflowError::invalid(format!("Invalid identifier {text:?}: the key is empty")));
    }
    Ok(Key { entity, name })
}

// Comparisons --------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Literal {
    Number(f64),
    Text(String),
    List(Vec<String>),
    Nothing,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Comparison {
    pub key: Key,
    pub op: Op,
    pub value: Literal,
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    subject: Subject,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word)) {
            self.at += 1;
            return true;
        }
        false
    }

    fn filter(&mut self) -> Result<Vec<Comparison>> {
        let mut all = vec![self.comparison()?];
        while self.peek().is_some() {
            if !self.keyword("AND") {
                let found = self.peek().map(|t| format!("{t:?}")).unwrap_or_default();
                return Err(MlflowError::invalid(format!("Invalid clause(s) in filter string: expected AND, found {found} (OR is not supported)")));
            }
            all.push(self.comparison()?);
        }
        Ok(all)
    }

    fn comparison(&mut self) -> Result<Comparison> {
        let key = match self.next() {
            Some(Token::Word(w)) => identifier(&w, self.subject)?,
            Some(Token::Quoted(q)) => identifier(&q, self.subject)?,
            other => return Err(MlflowError::invalid(format!("Invalid comparison clause: expected an identifier, found {other:?}"))),
        };
        let op = match self.next() {
            Some(Token::Op(op)) => match op {
                "=" => Op::Eq,
                "!=" => Op::Ne,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                _ => Op::Ge,
            },
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("LIKE") => Op::Like,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("ILIKE") => Op::ILike,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("IN") => Op::In,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("NOT") && self.keyword("IN") => Op::NotIn,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("IS") => {
                let not = self.keyword("NOT");
                if !self.keyword("NULL") {
                    return Err(MlflowError::invalid("Invalid comparison clause: expected NULL after IS"));
                }
                if not { Op::IsNotNull } else { Op::IsNull }
            }
            other => return Err(MlflowError::invalid(format!("Invalid comparison clause: expected a comparator after {:?}, found {other:?}", key.name))),
        };
        self.check_comparator(&key, op)?;
        let value = match op {
            Op::IsNull | Op::IsNotNull => Literal::Nothing,
            Op::In | Op::NotIn => Literal::List(self.list()?),
            _ => self.value(&key)?,
        };
        Ok(Comparison { key, op, value })
    }

    fn check_comparator(&self, key: &Key, op: Op) -> Result<()> {
        use Op::*;
        let (allowed, what): (&[Op], &str) = match key.entity {
            Entity::Metric => (&[Eq, Ne, Lt, Le, Gt, Ge], "metrics"),
            Entity::Param | Entity::Tag => (&[Eq, Ne, Like, ILike, IsNull, IsNotNull], "params and tags"),
            Entity::Attribute if self.subject.numeric(&key.name) => (&[Eq, Ne, Lt, Le, Gt, Ge], "numeric attributes"),
            _ => (&[Eq, Ne, Like, ILike, In, NotIn], "string attributes"),
        };
        if !allowed.contains(&op) {
            return Err(MlflowError::invalid(format!("Invalid comparator {op:?} for {what} (on {:?})", key.name)));
        }
        let list_key = match self.subject {
            Subject::Runs => "run_id",
            Subject::Experiments => "experiment_id",
            Subject::LoggedModels => "model_id",
        };
        if matches!(op, In | NotIn) && key.name != list_key {
            return Err(MlflowError::invalid(format!("Only ['{list_key}'] attributes support comparison with a list of quoted string values.")));
        }
        Ok(())
    }

    fn value(&mut self, key: &Key) -> Result<Literal> {
        let numeric = key.entity == Entity::Metric || (key.entity == Entity::Attribute && self.subject.numeric(&key.name));
        match self.next() {
            None => Err(MlflowError::invalid(format!("The filter ends after the comparator on {:?}: expected a value", key.name))),
            Some(Token::Number(n)) if numeric => Ok(Literal::Number(n.parse().expect("tokenized as a number"))),
            Some(Token::Str(s) | Token::Quoted(s)) if !numeric => Ok(Literal::Text(s)),
            Some(other) if numeric => Err(MlflowError::invalid(format!("Expected numeric value type for {:?}. Found {other:?}", key.name))),
            other => Err(MlflowError::invalid(format!("Expected a quoted string value for {:?} (e.g. 'my-value'). Got value {other:?}", key.name))),
        }
    }

    fn list(&mut self) -> Result<Vec<String>> {
        if self.next() != Some(Token::Open) {
            return Err(MlflowError::invalid("While parsing a list in the query, expected a parenthesised list of quoted strings"));
        }
        let mut items = vec![];
        loop {
            match self.next() {
                Some(Token::Str(s) | Token::Quoted(s)) => items.push(s),
                other => return Err(MlflowError::invalid(format!("While parsing a list in the query, expected string value, punctuation, or whitespace, but got {other:?}"))),
            }
            match self.next() {
                Some(Token::Comma) => continue,
                Some(Token::Close) => return Ok(items),
                other => return Err(MlflowError::invalid(format!("While parsing a list in the query, expected ',' or ')', got {other:?}"))),
            }
        }
    }
}

/// Parses a filter; empty means no condition.
pub(super) fn parse_filter(filter: &str, subject: Subject) -> Result<Vec<Comparison>> {
    let tokens = tokenize(filter)?;
    if tokens.is_empty() {
        return Ok(vec![]);
    }
    Parser { tokens, at: 0, subject }.filter()
}

// Evaluation ---------------------------------------------------------------------------------

/// SQL `LIKE`: `%` any run of characters, `_` one character, the rest literally.
fn like(text: &str, pattern: &str, ignore_case: bool) -> bool {
    let (t, p): (Vec<char>, Vec<char>) = if ignore_case {
        (text.to_lowercase().chars().collect(), pattern.to_lowercase().chars().collect())
    } else {
        (text.chars().collect(), pattern.chars().collect())
    };
    // Iterative wildcard matching with backtracking to the last `%`.
    let (mut ti, mut pi, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) && p[pi] != '%' {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

/// A value as the comparison sees it.
enum Have<'a> {
    Number(f64),
    Text(&'a str),
}

fn compare(c: &Comparison, have: Option<Have<'_>>) -> bool {
    match (c.op, have) {
        (Op::IsNull, have) => have.is_none(),
        (Op::IsNotNull, have) => have.is_some(),
        (_, None) => false,
        (op, Some(Have::Number(h))) => {
            let Literal::Number(v) = c.value else { return false };
            match op {
                Op::Eq => h == v,
                Op::Ne => h != v,
                Op::Lt => h < v,
                Op::Le => h <= v,
                Op::Gt => h > v,
                Op::Ge => h >= v,
                _ => false,
            }
        }
        (op, Some(Have::Text(h))) => match (&c.value, op) {
            (Literal::Text(v), Op::Eq) => h == v,
            (Literal::Text(v), Op::Ne) => h != v,
            (Literal::Text(v), Op::Like) => like(h, v, false),
            (Literal::Text(v), Op::ILike) => like(h, v, true),
            (Literal::List(vs), Op::In) => vs.iter().any(|v| v == h),
            (Literal::List(vs), Op::NotIn) => !vs.iter().any(|v| v == h),
            _ => false,
        },
    }
}

fn run_value<'a>(key: &Key, full: &'a FullRun) -> Option<Have<'a>> {
    match key.entity {
        Entity::Metric => full.metrics.iter().find(|m| m.key == key.name).map(|m| Have::Number(m.value)),
        Entity::Param => full.params.iter().find(|(k, _)| *k == key.name).map(|(_, v)| Have::Text(v.as_str())),
        Entity::Tag => full.tags.iter().find(|(k, _)| *k == key.name).map(|(_, v)| Have::Text(v.as_str())),
        Entity::Attribute => match key.name.as_str() {
            "run_id" => Some(Have::Text(&full.run.id)),
            "run_name" => Some(Have::Text(&full.run.name)),
            "user_id" => Some(Have::Text(&full.run.user_id)),
            "status" => Some(Have::Text(&full.run.status)),
            "artifact_uri" => Some(Have::Text(&full.run.artifact_uri)),
            "start_time" => Some(Have::Number(full.run.start_time as f64)),
            "end_time" => full.run.end_time.map(|t| Have::Number(t as f64)),
            _ => None,
        },
    }
}

pub(super) fn run_matches(filter: &[Comparison], full: &FullRun) -> bool {
    filter.iter().all(|c| compare(c, run_value(&c.key, full)))
}

fn experiment_tag<'a>(tags: &'a serde_json::Map<String, serde_json::Value>, key: &str) -> Option<&'a str> {
    tags.get(key).and_then(|v| v.as_str())
}

fn experiment_value<'a>(key: &Key, e: &'a ExperimentRow, tags: &'a serde_json::Map<String, serde_json::Value>) -> Option<Have<'a>> {
    match (key.entity, key.name.as_str()) {
        (Entity::Tag, name) => experiment_tag(tags, name).map(Have::Text),
        (_, "name") => Some(Have::Text(&e.name)),
        (_, "experiment_id") => Some(Have::Text(&e.id)),
        (_, "creation_time") => Some(Have::Number(e.created_at as f64)),
        (_, "last_update_time") => Some(Have::Number(e.updated_at as f64)),
        _ => None,
    }
}

pub(super) fn experiment_matches(filter: &[Comparison], e: &ExperimentRow) -> bool {
    let tags = json_map(&e.tags);
    filter.iter().all(|c| compare(c, experiment_value(&c.key, e, &tags)))
}

fn json_map(text: &str) -> serde_json::Map<String, serde_json::Value> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Parses a `logged-models/search` filter (attributes, params and tags of logged models).
pub(super) fn parse_logged_model_filter(filter: &str) -> Result<Vec<Comparison>> {
    parse_filter(filter, Subject::LoggedModels)
}

pub(super) fn logged_model_matches(filter: &[Comparison], m: &LoggedModelRow) -> bool {
    let (tags, params) = (json_map(&m.tags), json_map(&m.params));
    filter.iter().all(|c| {
        let have = match (c.key.entity, c.key.name.as_str()) {
            (Entity::Tag, key) => tags.get(key).and_then(|v| v.as_str()).map(Have::Text),
            (Entity::Param, key) => params.get(key).and_then(|v| v.as_str()).map(Have::Text),
            (_, "name") => Some(Have::Text(&m.name)),
            (_, "model_id") => Some(Have::Text(&m.id)),
            (_, "model_type") => Some(Have::Text(&m.model_type)),
            (_, "source_run_id") => Some(Have::Text(&m.source_run_id)),
            (_, "status") => Some(Have::Text(&m.status)),
            (_, "creation_timestamp") => Some(Have::Number(m.created_at as f64)),
            (_, "last_updated_timestamp") => Some(Have::Number(m.updated_at as f64)),
            _ => None,
        };
        compare(c, have)
    })
}

// Ordering -----------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub(super) struct OrderBy {
    pub key: Key,
    pub ascending: bool,
}

/// Parses `order_by` clauses; the same key twice is refused, as MLflow does.
pub(super) fn parse_order_by(clauses: &[String], subject: Subject) -> Result<Vec<OrderBy>> {
    let mut parsed: Vec<OrderBy> = vec![];
    for clause in clauses {
        let tokens = tokenize(clause)?;
        let (key, ascending) = match tokens.as_slice() {
            [Token::Word(w) | Token::Quoted(w)] => (w.clone(), true),
            [Token::Word(w) | Token::Quoted(w), Token::Word(dir)] if dir.eq_ignore_ascii_case("ASC") || dir.eq_ignore_ascii_case("DESC") => (w.clone(), dir.eq_ignore_ascii_case("ASC")),
            _ => return Err(MlflowError::invalid(format!("Invalid order_by clause '{clause}'. Could not be parsed."))),
        };
        let key = identifier(&key, subject)?;
        if subject == Subject::Experiments && key.entity != Entity::Attribute {
            return Err(MlflowError::invalid(format!("Invalid order_by entity: {:?}", key.entity)));
        }
        if parsed.iter().any(|o| o.key == key) {
            return Err(MlflowError::invalid(format!("`order_by` contains duplicate fields: {clauses:?}")));
        }
        parsed.push(OrderBy { key, ascending });
    }
    Ok(parsed)
}

/// Where a value sorts among others of its key: present first, then (metrics) NaN, then missing;
/// then the value, in the clause's direction.
fn order_values(a: Option<Have<'_>>, b: Option<Have<'_>>, ascending: bool) -> Ordering {
    let class = |h: &Option<Have<'_>>| match h {
        None => 2,
        Some(Have::Number(n)) if n.is_nan() => 1,
        Some(_) => 0,
    };
    let by_class = class(&a).cmp(&class(&b));
    if by_class != Ordering::Equal {
        return by_class;
    }
    let by_value = match (a, b) {
        (Some(Have::Number(x)), Some(Have::Number(y))) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(Have::Text(x)), Some(Have::Text(y))) => x.cmp(y),
        _ => Ordering::Equal,
    };
    if ascending { by_value } else { by_value.reverse() }
}

/// Sorts runs as MLflow's SQL store does.
pub(super) fn sort_runs(runs: &mut [FullRun], order: &[OrderBy]) {
    let by_start = order.iter().any(|o| o.key == Key { entity: Entity::Attribute, name: "start_time".into() });
    runs.sort_by(|a, b| {
        for o in order {
            let ord = order_values(run_value(&o.key, a), run_value(&o.key, b), o.ascending);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        let newest_first = if by_start { Ordering::Equal } else { b.run.start_time.cmp(&a.run.start_time) };
        newest_first.then_with(|| a.run.id.cmp(&b.run.id))
    });
}

/// Sorts experiments as MLflow's SQL store does: by default newest created first; ties by id.
pub(super) fn sort_experiments(experiments: &mut [ExperimentRow], order: &[OrderBy]) {
    let default = [
        OrderBy { key: Key { entity: Entity::Attribute, name: "creation_time".into() }, ascending: false },
        OrderBy { key: Key { entity: Entity::Attribute, name: "experiment_id".into() }, ascending: true },
    ];
    let order = if order.is_empty() { &default[..] } else { order };
    let by_id = order.iter().any(|o| o.key.name == "experiment_id");
    experiments.sort_by(|a, b| {
        let (ta, tb) = (json_map(&a.tags), json_map(&b.tags));
        for o in order {
            let ord = order_values(experiment_value(&o.key, a, &ta), experiment_value(&o.key, b, &tb), o.ascending);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        if by_id { Ordering::Equal } else { b.id.cmp(&a.id) }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(f: &str) -> Vec<Comparison> {
        parse_filter(f, Subject::Runs).unwrap_or_else(|e| panic!("{f}: {}", e.message()))
    }

    fn refused(f: &str) -> String {
        match parse_filter(f, Subject::Runs) {
            Ok(c) => panic!("{f} was accepted: {c:?}"),
            Err(e) => e.message().to_string(),
        }
    }

    #[test]
    fn the_grammar_reads_every_form_the_client_sends() {
        let c = parse("metrics.accuracy >= 0.8 and params.depth = '4' AND tags.`team name` LIKE 'op%' AND attributes.status != \"FAILED\"");
        assert_eq!(c.len(), 4);
        assert_eq!((c[0].key.entity, c[0].key.name.as_str(), c[0].op, &c[0].value), (Entity::Metric, "accuracy", Op::Ge, &Literal::Number(0.8)));
        assert_eq!((c[1].key.entity, c[1].op, &c[1].value), (Entity::Param, Op::Eq, &Literal::Text("4".into())));
        assert_eq!((c[2].key.name.as_str(), c[2].op), ("team name", Op::Like));
        assert_eq!((c[3].key.entity, c[3].op, &c[3].value), (Entity::Attribute, Op::Ne, &Literal::Text("FAILED".into())));
        let c = parse("run_id IN ('a', 'b') and metric.loss < -1e-3 and tag.x IS NOT NULL and params.p is null and created > 1700000000000");
        assert_eq!(c[0].value, Literal::List(vec!["a".into(), "b".into()]));
        assert_eq!((c[1].op, &c[1].value), (Op::Lt, &Literal::Number(-1e-3)));
        assert_eq!((c[2].op, c[3].op), (Op::IsNotNull, Op::IsNull));
        assert_eq!((c[4].key.name.as_str(), c[4].op), ("start_time", Op::Gt));
        assert_eq!(parse("metrics.\"my key\" <> 1")[0].key.name, "my key");
        assert_eq!(parse("metrics.a<=1")[0].op, Op::Le);
        assert!(parse("  ").is_empty());
    }

    #[test]
    fn what_mlflow_refuses_is_refused_with_its_reason() {
        assert!(refused("metrics.acc > 'high'").contains("numeric"));
        assert!(refused("params.depth > '3'").contains("Invalid comparator"));
        assert!(refused("params.depth = 3").contains("quoted string"));
        assert!(refused("status IN ('FINISHED')").contains("run_id"));
        assert!(refused("foo.bar = 'x'").contains("Invalid entity type"));
        assert!(refused("nonsense = 'x'").contains("Invalid attribute key"));
        assert!(refused("metrics.a > 1 OR metrics.b > 1").contains("OR"));
        assert!(refused("tags.x = 'unterminated").contains("unterminated"));
        assert!(refused("metrics.a >").contains("expected a value"));
    }

    #[test]
    fn like_matches_whole_values_with_wildcards() {
        assert!(like("ops-team", "ops%", false));
        assert!(!like("Ops-team", "ops%", false), "LIKE is case-sensitive");
        assert!(like("Ops-team", "ops%", true), "ILIKE is not");
        assert!(like("abc", "a_c", false));
        assert!(!like("abcd", "a_c", false), "a whole-value match");
        assert!(like("a%b", "a%", false));
        assert!(like("", "%", false));
        assert!(like("xaaab", "%a%b", false));
    }

    #[test]
    fn order_by_reads_keys_and_directions_and_refuses_duplicates() {
        let o = parse_order_by(&["metrics.accuracy DESC".into(), "`params`.depth".into(), "run_name asc".into()], Subject::Runs).unwrap();
        assert_eq!((o[0].key.entity, o[0].ascending), (Entity::Metric, false));
        assert_eq!((o[1].key.entity, o[1].ascending), (Entity::Param, true));
        assert_eq!(o[2].key.name, "run_name");
        assert!(parse_order_by(&["metrics.a".into(), "metric.a DESC".into()], Subject::Runs).is_err());
        assert!(parse_order_by(&["metrics.a sideways".into()], Subject::Runs).is_err());
    }
}
