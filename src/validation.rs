//! The 422 answer: every problem in a body that the typed parse rejects.
//!
//! [`parse`] runs the fast typed parse ([`Webhook::from_slice`]) and only when
//! it fails walks the body a second time to list **every** problem, in the
//! FastAPI/pydantic-v1 shape:
//! `{"detail":[{"loc":["body","alerts",0,"status"],"msg":"field required","type":"value_error.missing"}]}`.
//!
//! The second walk drives the same `serde_json` deserializer in the same way as
//! the typed parse (same key matching, unknown fields skipped with
//! [`IgnoredAny`], same nesting depth), so a body is rejected by one exactly
//! when it is rejected by the other. Rows are listed in the model's field
//! order at each level, alerts by index, label entries in body order; every
//! occurrence of a repeated key is checked (the last one counts, but each must
//! be valid). A body that is not JSON at all gets a single
//! `value_error.jsondecode` row at `["body", <byte offset>]`: the byte at
//! fault, or the end of the body when it ends too early, with the same line
//! and column (from 1) in its message. Values nested more than 127 deep are
//! not JSON here, wherever they are (serde_json's limit, which it applies only
//! to the values it builds). A number too large for an `f64` (`1e400`) is
//! JSON, and gets its field's row.
//!
//! ```
//! use alertmanager_webhook::validation::parse;
//!
//! let err = parse(br#"{"groupKey":"g","status":"firing","alerts":[{"status":"on"}]}"#).unwrap_err();
//! let rows: Vec<String> = err.errors().iter().map(|e| format!("{:?} {}", e.loc, e.kind)).collect();
//! assert_eq!(rows, [
//!     r#"[Key("body"), Key("receiver")] value_error.missing"#,
//!     r#"[Key("body"), Key("alerts"), Index(0), Key("status")] type_error.enum"#,
//!     r#"[Key("body"), Key("alerts"), Index(0), Key("startsAt")] value_error.missing"#,
//!     r#"[Key("body"), Key("alerts"), Index(0), Key("fingerprint")] value_error.missing"#,
//! ]);
//! ```

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use bytes::Bytes;
use serde::Serialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::payload::{
    ALERT_FIELDS, Status, Str, WEBHOOK_FIELDS, Webhook, next_field, parse_rfc3339, tame, too_deep,
};

/// The most problems one 422 answer lists.
///
/// The walk lists the first this many problems it meets in body order (in
/// model order within each object) and counts the rest, which one last row,
/// of type [`TOO_MANY_ERRORS`] at `["body"]`, reports: an answer is never cut
/// short without saying so. The walk reads on to the end, so a later syntax
/// error still turns the answer into a single decode error.
///
/// ```
/// use alertmanager_webhook::validation::{parse, MAX_ERRORS, TOO_MANY_ERRORS};
///
/// let labels: Vec<String> = (0..1500).map(|i| format!(r#""l{i}":{i}"#)).collect();
/// let body = format!(
///     r#"{{"groupKey":"g","status":"firing","receiver":"r","alerts":[],"commonLabels":{{{}}}}}"#,
///     labels.join(","),
/// );
/// let err = parse(body.as_bytes()).unwrap_err();
/// assert_eq!(err.errors().len(), MAX_ERRORS + 1);
/// let last = &err.errors()[MAX_ERRORS];
/// assert_eq!((last.kind, last.msg.as_ref()), (TOO_MANY_ERRORS, "500 more errors not listed (at most 1000 are)"));
/// ```
pub const MAX_ERRORS: usize = 1000;

/// The `type` of the row that counts the problems past [`MAX_ERRORS`].
///
/// ```
/// assert_eq!(alertmanager_webhook::validation::TOO_MANY_ERRORS, "value_error.too_many_errors");
/// ```
pub const TOO_MANY_ERRORS: &str = "value_error.too_many_errors";

/// The most characters of the body that one answer repeats, all rows together.
const MAX_ECHO: usize = 100;

/// Parses a webhook body, or lists everything wrong with it.
///
/// The typed parse runs first; the slower walk that collects every problem
/// runs only when it fails. The error list is never empty.
///
/// ```
/// use alertmanager_webhook::validation::parse;
///
/// let ok = parse(br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[]}"#);
/// assert_eq!(ok.unwrap().receiver, "r");
///
/// let err = parse(br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":null}"#).unwrap_err();
/// assert_eq!(err.errors()[0].msg, "none is not an allowed value");
/// ```
pub fn parse(body: &[u8]) -> Result<Webhook<'_>, ValidationErrors> {
    Webhook::from_slice(body).map_err(|typed| {
        let mut rows = collect(body);
        if rows.is_empty() {
            // The walk and the typed parse disagree (a bug): never answer an empty 422.
            let msg = json_message(&typed);
            tracing::error!(target: "alertmanager_webhook", error = %msg, "validation found no problem in a rejected body");
            rows.push(ValidationError {
                loc: vec![LocItem::body()],
                msg: Cow::Owned(msg),
                kind: JSON_DECODE,
            });
        }
        ValidationErrors(rows)
    })
}

/// One problem: where it is, what is wrong, and its pydantic error type.
///
/// Serializes as `{"loc":[...],"msg":"...","type":"..."}`.
///
/// ```
/// use alertmanager_webhook::validation::{LocItem, ValidationError};
///
/// let e = ValidationError {
///     loc: vec![LocItem::Key("body".into()), LocItem::Index(3)],
///     msg: "field required".into(),
///     kind: "value_error.missing",
/// };
/// assert_eq!(
///     serde_json::to_string(&e).unwrap(),
///     r#"{"loc":["body",3],"msg":"field required","type":"value_error.missing"}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationError {
    /// The path to the problem; always starts with `"body"`.
    pub loc: Vec<LocItem>,
    /// A human-readable message, e.g. `field required`.
    pub msg: Cow<'static, str>,
    /// The pydantic error type, e.g. `value_error.missing`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// One step of a [`ValidationError::loc`] path: an object key or an array index.
///
/// ```
/// use alertmanager_webhook::validation::LocItem;
///
/// let loc = [LocItem::Key("alerts".into()), LocItem::Index(0)];
/// assert_eq!(serde_json::to_string(&loc).unwrap(), r#"["alerts",0]"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum LocItem {
    /// An object key. Label keys repeat at most 100 characters of the body
    /// in one answer, all rows together; a key cut short ends with `…`.
    Key(Cow<'static, str>),
    /// An array index, or the byte offset of a JSON syntax error.
    Index(usize),
}

impl LocItem {
    fn body() -> Self {
        LocItem::Key(Cow::Borrowed("body"))
    }
}

/// Everything wrong with a rejected body: never empty, at most [`MAX_ERRORS`]
/// problems and then a row that counts the others.
///
/// ```
/// use alertmanager_webhook::validation::parse;
///
/// let err = parse(b"{}").unwrap_err();
/// assert_eq!(err.errors().len(), 4); // groupKey, status, receiver, alerts
/// assert!(err.to_string().starts_with("4 validation errors"));
/// let _: &dyn std::error::Error = &err;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(Vec<ValidationError>);

impl ValidationErrors {
    /// The problems, in the order the 422 body lists them.
    ///
    /// ```
    /// use alertmanager_webhook::validation::parse;
    ///
    /// let err = parse(br#"{"groupKey":"g","status":"firing","receiver":"r","alerts":[],"truncatedAlerts":1.5}"#).unwrap_err();
    /// assert_eq!(err.errors()[0].kind, "type_error.integer");
    /// ```
    pub fn errors(&self) -> &[ValidationError] {
        &self.0
    }

    /// The 422 response body: exactly `{"detail":[...]}`.
    ///
    /// ```
    /// use alertmanager_webhook::validation::parse;
    ///
    /// let err = parse(br#"{"groupKey":"g","status":"firing","alerts":[]}"#).unwrap_err();
    /// assert_eq!(
    ///     &err.to_json()[..],
    ///     br#"{"detail":[{"loc":["body","receiver"],"msg":"field required","type":"value_error.missing"}]}"#
    /// );
    /// ```
    pub fn to_json(&self) -> Bytes {
        #[derive(Serialize)]
        struct Detail<'a> {
            detail: &'a [ValidationError],
        }
        // Strings and integers always serialize; there is no map with non-string keys.
        let json = serde_json::to_vec(&Detail { detail: &self.0 })
            .expect("serializing strings and integers into a Vec cannot fail");
        Bytes::from(json)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} validation error{}", if n == 1 { "" } else { "s" })?;
        for e in &self.0 {
            f.write_str("\n")?;
            for (i, item) in e.loc.iter().enumerate() {
                if i > 0 {
                    f.write_str(" -> ")?;
                }
                match item {
                    LocItem::Key(k) => f.write_str(k)?,
                    LocItem::Index(n) => write!(f, "{n}")?,
                }
            }
            write!(f, "\n  {} (type={})", e.msg, e.kind)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

const JSON_DECODE: &str = "value_error.jsondecode";

const LIST_BODY_HINT: &str = "value is not a valid dict; this body is a JSON list, which looks like \
    the Prometheus alerts that Prometheus posts to Alertmanager's /api/v2/alerts. \
    Point Prometheus at Alertmanager, and Alertmanager's webhook_configs at this URL";

/// The kinds of row a walk can report (all but the decode error).
#[derive(Clone, Copy, Debug)]
enum Problem {
    Missing,
    Null,
    Dict,
    ListBody,
    List,
    Str,
    Integer,
    Enum,
    Datetime,
}

impl Problem {
    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Problem::Missing => ("value_error.missing", "field required"),
            Problem::Null => (
                "type_error.none.not_allowed",
                "none is not an allowed value",
            ),
            Problem::Dict => ("type_error.dict", "value is not a valid dict"),
            Problem::ListBody => ("type_error.dict", LIST_BODY_HINT),
            Problem::List => ("type_error.list", "value is not a valid list"),
            Problem::Str => ("type_error.str", "str type expected"),
            Problem::Integer => ("type_error.integer", "value is not a valid integer"),
            Problem::Enum => (
                "type_error.enum",
                "value is not a valid enumeration member; permitted: 'firing', 'resolved'",
            ),
            Problem::Datetime => ("value_error.datetime", "invalid datetime format"),
        }
    }
}

/// A field whose value is checked as a whole `serde_json::Value`.
#[derive(Clone, Copy)]
enum Leaf {
    Str,
    OptStr,
    Int,
    Status,
    Time,
    OptTime,
}

impl Leaf {
    /// What is wrong with `v` for this field, if anything; mirrors the typed parse.
    fn check(self, v: &Value) -> Option<Problem> {
        let ok = match (self, v) {
            (Leaf::OptStr | Leaf::OptTime, Value::Null) => true,
            (_, Value::Null) => return Some(Problem::Null),
            (Leaf::Str | Leaf::OptStr, v) => v.is_string(),
            // Like serde's i64: JSON integers in range; not `-0` (serde_json reads it as a float).
            (Leaf::Int, v) => v.as_i64().is_some(),
            (Leaf::Status, v) => v.as_str().and_then(Status::named).is_some(),
            (Leaf::Time | Leaf::OptTime, v) => v
                .as_str()
                .is_some_and(|s| parse_rfc3339(s.as_bytes()).is_some()),
        };
        if ok {
            return None;
        }
        Some(match self {
            Leaf::Str | Leaf::OptStr => Problem::Str,
            Leaf::Int => Problem::Integer,
            Leaf::Status => Problem::Enum,
            Leaf::Time | Leaf::OptTime => Problem::Datetime,
        })
    }
}

#[derive(Clone, Copy)]
enum Shape {
    Leaf(Leaf),
    /// Labels or annotations: an object of strings.
    Pairs,
    /// A list of alert objects.
    Alerts,
}

/// An object of the model: its fields in declaration order, with shape and "required".
struct Model {
    fields: &'static [&'static str],
    shapes: &'static [(Shape, bool)],
    /// The problem when a JSON array stands where this object should be.
    array: Problem,
}

const WEBHOOK: Model = Model {
    fields: WEBHOOK_FIELDS,
    shapes: &WEBHOOK_SHAPES,
    array: Problem::ListBody,
};

const WEBHOOK_SHAPES: [(Shape, bool); WEBHOOK_FIELDS.len()] = [
    (Shape::Leaf(Leaf::Str), false),    // version
    (Shape::Leaf(Leaf::Str), true),     // groupKey
    (Shape::Leaf(Leaf::Int), false),    // truncatedAlerts
    (Shape::Leaf(Leaf::Status), true),  // status
    (Shape::Leaf(Leaf::Str), true),     // receiver
    (Shape::Pairs, false),              // groupLabels
    (Shape::Pairs, false),              // commonLabels
    (Shape::Pairs, false),              // commonAnnotations
    (Shape::Leaf(Leaf::OptStr), false), // externalURL
    (Shape::Alerts, true),              // alerts
];

const ALERT: Model = Model {
    fields: ALERT_FIELDS,
    shapes: &ALERT_SHAPES,
    array: Problem::Dict,
};

const ALERT_SHAPES: [(Shape, bool); ALERT_FIELDS.len()] = [
    (Shape::Leaf(Leaf::Status), true),   // status
    (Shape::Pairs, false),               // labels
    (Shape::Pairs, false),               // annotations
    (Shape::Leaf(Leaf::Time), true),     // startsAt
    (Shape::Leaf(Leaf::OptTime), false), // endsAt
    (Shape::Leaf(Leaf::OptStr), false),  // generatorURL
    (Shape::Leaf(Leaf::Str), true),      // fingerprint
];

/// Lists every problem in `body`; empty exactly when [`Webhook::from_slice`] accepts it.
pub(crate) fn collect(body: &[u8]) -> Vec<ValidationError> {
    // JSON that serde_json refuses (a number too large for an `f64`, a lone
    // surrogate): walk again with it tamed, as the typed parse does.
    let walked = walk(body).or_else(|e| match tame(body) {
        Some(tamed) => walk(&tamed),
        None => Err(e),
    });
    let mut rows = walked.unwrap_or_else(|e| vec![decode_error(body, &e)]);
    // Nesting deeper than serde_json builds is refused in skipped values too,
    // unless a syntax error comes first.
    if let Some(at) = too_deep(body).filter(|&at| !syntax_error_by(&rows, at)) {
        rows = vec![json_error_at(body, at, "recursion limit exceeded")];
    }
    // JSON text is UTF-8 (RFC 8259). serde_json checks the strings it keeps,
    // not those it skips, so a bad byte in an unknown field gets here too: the
    // body is not JSON, unless a syntax error came first.
    match std::str::from_utf8(body) {
        Err(e) if !syntax_error_by(&rows, e.valid_up_to()) => {
            // Worded as serde_json words it in the strings it keeps.
            vec![json_error_at(
                body,
                e.valid_up_to(),
                "invalid unicode code point",
            )]
        }
        _ => rows,
    }
}

/// The rows of one walk of `body`, or the JSON error that stopped it.
fn walk(body: &[u8]) -> Result<Vec<ValidationError>, serde_json::Error> {
    let mut rows = Vec::new();
    let budget = Budget {
        rows: Cell::new(MAX_ERRORS),
        unlisted: Cell::new(0),
        echo: Cell::new(MAX_ECHO),
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let node = Node {
        expect: Expect::Object(&WEBHOOK),
        at: Place {
            loc: vec![LocItem::body()],
            out: &mut rows,
            budget: &budget,
        },
    };
    node.deserialize(&mut de).and_then(|()| de.end())?;
    let unlisted = budget.unlisted.get();
    if unlisted > 0 {
        rows.push(ValidationError {
            loc: vec![LocItem::body()],
            msg: Cow::Owned(format!(
                "{unlisted} more error{} not listed (at most {MAX_ERRORS} are)",
                if unlisted == 1 { "" } else { "s" }
            )),
            kind: TOO_MANY_ERRORS,
        });
    }
    Ok(rows)
}

/// Whether `rows` is a JSON syntax error at or before byte `offset`.
fn syntax_error_by(rows: &[ValidationError], offset: usize) -> bool {
    let [row] = rows else { return false };
    row.kind == JSON_DECODE && matches!(row.loc[..], [_, LocItem::Index(at)] if at <= offset)
}

/// The `value_error.jsondecode` row for `what` at byte `offset` of `body`,
/// placed as serde_json places its errors: line from 1, column in bytes from 1.
fn json_error_at(body: &[u8], offset: usize, what: &str) -> ValidationError {
    let before = &body[..offset];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let column = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
        + 1;
    ValidationError {
        loc: vec![LocItem::body(), LocItem::Index(offset)],
        msg: Cow::Owned(format!("{what} at line {line} column {column}")),
        kind: JSON_DECODE,
    }
}

/// The full error walk, for the fuzz targets only (feature `fuzzing`): empty
/// exactly when [`Webhook::from_slice`] accepts `body`. Not a stable API.
///
/// ```
/// let rows = alertmanager_webhook::validation::__fuzz_collect(b"{}");
/// assert_eq!(rows.len(), 4); // groupKey, status, receiver, alerts
/// ```
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn __fuzz_collect(body: &[u8]) -> Vec<ValidationError> {
    collect(body)
}

/// The single row for a body the JSON deserializer itself rejects, at the
/// byte where the JSON goes wrong.
fn decode_error(body: &[u8], e: &serde_json::Error) -> ValidationError {
    let full = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let Some(what) = full.strip_suffix(&position).filter(|_| e.line() > 0) else {
        return ValidationError {
            loc: vec![LocItem::body(), LocItem::Index(0)],
            msg: Cow::Owned(cap(&full).to_owned()),
            kind: JSON_DECODE,
        };
    };
    // serde_json counts lines from 1 and columns in bytes from 1 (0 = before the line's first byte).
    let line_start: usize = body
        .split(|&b| b == b'\n')
        .take(e.line() - 1)
        .map(|line| line.len() + 1)
        .sum();
    let mut at = (line_start + e.column().saturating_sub(1)).min(body.len());
    // Its column names the last byte read at the end of the input, and the
    // byte before a control character in a string it skips: move to the byte
    // at fault (the end, the control character), as Python's `json` does.
    let control = |i: usize| body.get(i).is_some_and(|&b| b < 0x20);
    if e.is_eof() {
        at = body.len();
    } else if what.starts_with("control character") && !control(at) && control(at + 1) {
        at += 1;
    }
    json_error_at(body, at, cap(what))
}

/// serde_json's message with any echoed input cut to [`MAX_ECHO`] characters.
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    if e.line() == 0 {
        return cap(&full).to_owned();
    }
    let position = format!(" at line {} column {}", e.line(), e.column());
    match full.strip_suffix(&position) {
        Some(head) => format!("{}{position}", cap(head)),
        None => cap(&full).to_owned(),
    }
}

/// The first [`MAX_ECHO`] characters of `s`.
fn cap(s: &str) -> &str {
    first_chars(s, MAX_ECHO).unwrap_or(s)
}

/// The first `n` characters of `s`, if it has more.
fn first_chars(s: &str, n: usize) -> Option<&str> {
    s.char_indices().nth(n).map(|(end, _)| &s[..end])
}

/// What one answer may still hold: rows, and characters of the body.
struct Budget {
    rows: Cell<usize>,
    /// Problems met once `rows` ran out.
    unlisted: Cell<usize>,
    echo: Cell<usize>,
}

impl Budget {
    /// `s`, cut (ending with `…`) to the characters of the body still allowed.
    fn echo(&self, s: &str) -> String {
        let left = self.echo.get();
        let Some(cut) = first_chars(s, left) else {
            self.echo.set(left - s.chars().count());
            return s.to_owned();
        };
        self.echo.set(0);
        format!("{cut}…")
    }
}

/// Where rows for one value go: its path, its output list and the shared budget.
struct Place<'r> {
    loc: Vec<LocItem>,
    out: &'r mut Vec<ValidationError>,
    budget: &'r Budget,
}

impl Place<'_> {
    /// Lists `problem` at this place, or at its label `key`, if the budget allows.
    fn push(&mut self, key: Option<&str>, problem: Problem) {
        let budget = self.budget;
        let Some(rows) = budget.rows.get().checked_sub(1) else {
            budget.unlisted.set(budget.unlisted.get() + 1);
            return;
        };
        budget.rows.set(rows);
        let mut loc = Vec::with_capacity(self.loc.len() + 1);
        loc.extend(self.loc.iter().cloned());
        loc.extend(key.map(|key| LocItem::Key(budget.echo(key).into())));
        let (kind, msg) = problem.describe();
        self.out.push(ValidationError {
            loc,
            msg: Cow::Borrowed(msg),
            kind,
        });
    }

    fn child<'s>(&self, last: LocItem, out: &'s mut Vec<ValidationError>) -> Place<'s>
    where
        Self: 's,
    {
        let mut loc = self.loc.clone();
        loc.push(last);
        Place {
            loc,
            out,
            budget: self.budget,
        }
    }
}

/// The container a value should be.
#[derive(Clone, Copy)]
enum Expect {
    Object(&'static Model),
    Pairs,
    Alerts,
}

impl Expect {
    /// The problem when the value is a scalar or the other kind of container.
    fn mismatch(self, array: bool) -> Problem {
        match self {
            Expect::Object(model) if array => model.array,
            Expect::Object(_) | Expect::Pairs => Problem::Dict,
            Expect::Alerts => Problem::List,
        }
    }
}

/// Walks one value with `deserialize_any`, so any JSON value is read to its end.
struct Node<'r> {
    expect: Expect,
    at: Place<'r>,
}

impl Node<'_> {
    fn scalar<E>(mut self, null: bool) -> Result<(), E> {
        let problem = if null {
            Problem::Null
        } else {
            self.expect.mismatch(false)
        };
        self.at.push(None, problem);
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(true)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar(false)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Node { expect, mut at } = self;
        match expect {
            Expect::Object(model) => walk_object(model, map, at),
            Expect::Pairs => {
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    let problem = match map.next_value::<Value>()? {
                        Value::String(_) => continue,
                        Value::Null => Problem::Null,
                        _ => Problem::Str,
                    };
                    at.push(Some(&key), problem);
                }
                Ok(())
            }
            Expect::Alerts => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                at.push(None, expect.mismatch(false));
                Ok(())
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Node { expect, mut at } = self;
        if let Expect::Alerts = expect {
            let mut index = 0;
            loop {
                let mut loc = at.loc.clone();
                loc.push(LocItem::Index(index));
                let alert = Node {
                    expect: Expect::Object(&ALERT),
                    at: Place {
                        loc,
                        out: &mut *at.out,
                        budget: at.budget,
                    },
                };
                if seq.next_element_seed(alert)?.is_none() {
                    return Ok(());
                }
                index += 1;
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        at.push(None, expect.mismatch(true));
        Ok(())
    }
}

/// Walks a webhook or alert object the way the typed parse does, listing rows
/// field by field in model order.
fn walk_object<'de, A: MapAccess<'de>>(
    model: &Model,
    mut map: A,
    at: Place<'_>,
) -> Result<(), A::Error> {
    let mut rows: Vec<Vec<ValidationError>> = vec![Vec::new(); model.fields.len()];
    let mut seen = vec![false; model.fields.len()];
    while let Some(field) = next_field(&mut map, model.fields)? {
        let Some(i) = field else {
            map.next_value::<IgnoredAny>()?;
            continue;
        };
        seen[i] = true;
        let mut place = at.child(LocItem::Key(model.fields[i].into()), &mut rows[i]);
        let expect = match model.shapes[i].0 {
            Shape::Leaf(leaf) => {
                if let Some(problem) = leaf.check(&map.next_value::<Value>()?) {
                    place.push(None, problem);
                }
                continue;
            }
            Shape::Pairs => Expect::Pairs,
            Shape::Alerts => Expect::Alerts,
        };
        map.next_value_seed(Node { expect, at: place })?;
    }
    for (i, ((_, required), seen)) in model.shapes.iter().zip(seen).enumerate() {
        if *required && !seen {
            at.child(LocItem::Key(model.fields[i].into()), &mut rows[i])
                .push(None, Problem::Missing);
        }
    }
    at.out.extend(rows.into_iter().flatten());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::MAX_DEPTH;
    use proptest::prelude::*;

    const VALID: &str = r#"{"receiver":"r","status":"firing","groupKey":"g","alerts":[
        {"status":"firing","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f"},
        {"status":"resolved","startsAt":"2026-01-17T12:22:56Z","fingerprint":"f2"}]}"#;

    /// `VALID` after `edit`, as body bytes.
    fn edited(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(VALID).unwrap();
        edit(&mut v);
        serde_json::to_vec(&v).unwrap()
    }

    /// `VALID` with the value at JSON pointer `at` replaced by the JSON text `with`.
    fn set(at: &str, with: &str) -> Vec<u8> {
        let (parent, last) = at.rsplit_once('/').unwrap();
        edited(|v| {
            let with = serde_json::from_str(with).unwrap();
            match v.pointer_mut(parent).unwrap() {
                Value::Array(items) => items[last.parse::<usize>().unwrap()] = with,
                Value::Object(m) => drop(m.insert(last.to_owned(), with)),
                _ => panic!("{at}"),
            }
        })
    }

    /// `VALID` without `field` of the object at `parent`.
    fn drop_field(parent: &str, field: &str) -> Vec<u8> {
        edited(|v| {
            v.pointer_mut(parent)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .remove(field)
                .unwrap();
        })
    }

    /// The rows `parse` reports, as (loc JSON, msg, type); also checks that the
    /// typed parse rejects the body and that `parse` returns exactly `collect`'s rows.
    fn rows(body: &[u8]) -> Vec<(String, String, &'static str)> {
        let err = parse(body).expect_err("body should be rejected");
        assert!(Webhook::from_slice(body).is_err());
        assert_eq!(err.errors(), collect(body));
        err.errors()
            .iter()
            .map(|e| {
                let loc = serde_json::to_string(&e.loc).unwrap();
                (loc, e.msg.to_string(), e.kind)
            })
            .collect()
    }

    /// The single row of `body`, checked for loc, msg and type.
    fn assert_one(body: &[u8], loc: &str, kind: &str, msg: &str) {
        let rows = rows(body);
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!((rows[0].0.as_str(), rows[0].2), (loc, kind), "{rows:?}");
        assert_eq!(rows[0].1, msg);
    }

    const MISSING: (&str, &str) = ("value_error.missing", "field required");
    const NULL: (&str, &str) = (
        "type_error.none.not_allowed",
        "none is not an allowed value",
    );
    const DICT: (&str, &str) = ("type_error.dict", "value is not a valid dict");
    const LIST: (&str, &str) = ("type_error.list", "value is not a valid list");
    const STR: (&str, &str) = ("type_error.str", "str type expected");
    const INT: (&str, &str) = ("type_error.integer", "value is not a valid integer");
    const ENUM: (&str, &str) = (
        "type_error.enum",
        "value is not a valid enumeration member; permitted: 'firing', 'resolved'",
    );
    const DATETIME: (&str, &str) = ("value_error.datetime", "invalid datetime format");

    fn check(body: &[u8], loc: &str, (kind, msg): (&str, &str)) {
        assert_one(body, loc, kind, msg);
    }

    #[test]
    fn valid_body_has_no_rows() {
        assert!(Webhook::from_slice(VALID.as_bytes()).is_ok());
        assert!(collect(VALID.as_bytes()).is_empty());
    }

    #[test]
    fn missing_required_fields() {
        for field in ["groupKey", "status", "receiver", "alerts"] {
            check(
                &drop_field("", field),
                &format!(r#"["body","{field}"]"#),
                MISSING,
            );
        }
        for field in ["status", "startsAt", "fingerprint"] {
            let loc = format!(r#"["body","alerts",1,"{field}"]"#);
            check(&drop_field("/alerts/1", field), &loc, MISSING);
        }
        // VALID has only the required fields: all the others may be absent.
        let v: Value = serde_json::from_str(VALID).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 4);
        assert_eq!(v["alerts"][0].as_object().unwrap().len(), 3);
        let hook = parse(VALID.as_bytes()).unwrap();
        assert_eq!((hook.version.as_str(), hook.truncated_alerts), ("4", 0));
    }

    #[test]
    fn null_where_a_value_is_required() {
        for field in [
            "version",
            "groupKey",
            "truncatedAlerts",
            "status",
            "receiver",
            "groupLabels",
            "commonLabels",
            "commonAnnotations",
            "alerts",
        ] {
            check(
                &set(&format!("/{field}"), "null"),
                &format!(r#"["body","{field}"]"#),
                NULL,
            );
        }
        for field in ["status", "labels", "annotations", "startsAt", "fingerprint"] {
            let body = edited(|v| v["alerts"][0][field] = Value::Null);
            check(&body, &format!(r#"["body","alerts",0,"{field}"]"#), NULL);
        }
        check(&set("/alerts/1", "null"), r#"["body","alerts",1]"#, NULL);
        check(
            &set("/alerts/0/labels", r#"{"severity":null}"#),
            r#"["body","alerts",0,"labels","severity"]"#,
            NULL,
        );
        check(b"null", r#"["body"]"#, NULL);
        // The three nullable fields.
        let body = edited(|v| {
            v["externalURL"] = Value::Null;
            v["alerts"][0]["endsAt"] = Value::Null;
            v["alerts"][0]["generatorURL"] = Value::Null;
        });
        assert!(parse(&body).is_ok());
    }

    #[test]
    fn object_expected() {
        for field in ["groupLabels", "commonLabels", "commonAnnotations"] {
            for value in ["5", r#""x""#, "[]", r#"[{"a":"b"}]"#, "true"] {
                check(
                    &set(&format!("/{field}"), value),
                    &format!(r#"["body","{field}"]"#),
                    DICT,
                );
            }
        }
        check(
            &set("/alerts/0/annotations", "[]"),
            r#"["body","alerts",0,"annotations"]"#,
            DICT,
        );
        check(
            &set("/alerts/1", r#""alert""#),
            r#"["body","alerts",1]"#,
            DICT,
        );
        check(&set("/alerts/0", "[1,2]"), r#"["body","alerts",0]"#, DICT);
        for body in [&b"5"[..], b"\"webhook\"", b"true", b"-1.5e3"] {
            check(body, r#"["body"]"#, DICT);
        }
    }

    #[test]
    fn list_expected() {
        for value in ["{}", r#"{"0":{"status":"firing"}}"#, r#""[]""#, "0"] {
            check(&set("/alerts", value), r#"["body","alerts"]"#, LIST);
        }
    }

    #[test]
    fn string_expected() {
        for field in ["version", "groupKey", "receiver", "externalURL"] {
            for value in ["5", "[]", "{}", "false"] {
                check(
                    &set(&format!("/{field}"), value),
                    &format!(r#"["body","{field}"]"#),
                    STR,
                );
            }
        }
        check(
            &set("/alerts/0/fingerprint", "1"),
            r#"["body","alerts",0,"fingerprint"]"#,
            STR,
        );
        check(
            &set("/alerts/0/generatorURL", "{}"),
            r#"["body","alerts",0,"generatorURL"]"#,
            STR,
        );
        check(
            &set("/commonAnnotations", r#"{"summary":"ok","value":91.5}"#),
            r#"["body","commonAnnotations","value"]"#,
            STR,
        );
        check(
            &set("/alerts/1/labels", r#"{"a":"b","severity":["x"]}"#),
            r#"["body","alerts",1,"labels","severity"]"#,
            STR,
        );
    }

    #[test]
    fn integer_expected() {
        for value in [
            "1.5",
            "1.0",
            "1e2",
            "-0",
            r#""3""#,
            "true",
            "[]",
            "9223372036854775808",
            "-9223372036854775809",
        ] {
            check(
                &set("/truncatedAlerts", value),
                r#"["body","truncatedAlerts"]"#,
                INT,
            );
        }
        for ok in [
            "0",
            "3",
            "-1",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            assert!(parse(&set("/truncatedAlerts", ok)).is_ok(), "{ok}");
        }
    }

    #[test]
    fn status_not_exactly_firing_or_resolved() {
        for value in [
            r#""FIRING""#,
            r#""firing ""#,
            r#""""#,
            "1",
            r#"{"firing":null}"#,
            r#"["firing"]"#,
        ] {
            check(&set("/status", value), r#"["body","status"]"#, ENUM);
            check(
                &set("/alerts/0/status", value),
                r#"["body","alerts",0,"status"]"#,
                ENUM,
            );
        }
        let escaped = VALID.replacen(r#""firing""#, r#""fir\u0069ng""#, 1);
        assert!(parse(escaped.as_bytes()).is_ok());
    }

    #[test]
    fn datetime_expected() {
        for value in [
            r#""yesterday""#,
            r#""2026-02-30T00:00:00Z""#,
            r#""2026-01-17T12:22:56""#,
            "1700000000",
            "{}",
        ] {
            check(
                &set("/alerts/0/startsAt", value),
                r#"["body","alerts",0,"startsAt"]"#,
                DATETIME,
            );
            check(
                &set("/alerts/1/endsAt", value),
                r#"["body","alerts",1,"endsAt"]"#,
                DATETIME,
            );
        }
        let body = set("/alerts/1/endsAt", r#""0001-01-01T00:00:00Z""#);
        assert!(parse(&body).unwrap().alerts[1].ends_at.is_none());
    }

    #[test]
    fn every_problem_in_model_order() {
        // Document order: alerts first, then truncatedAlerts; rows come in model order.
        let body = br#"{"alerts":[
            {"startsAt":"2026-01-17T12:22:56Z","fingerprint":"a"},
            {"status":"firing","labels":{"alertname":"X","severity":5},"startsAt":"2026-01-17T12:22:56Z","fingerprint":"b"}],
          "truncatedAlerts":"x","status":"firing","groupKey":"g"}"#;
        let got = rows(body);
        let want = [
            (r#"["body","truncatedAlerts"]"#, INT),
            (r#"["body","receiver"]"#, MISSING),
            (r#"["body","alerts",0,"status"]"#, MISSING),
            (r#"["body","alerts",1,"labels","severity"]"#, STR),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (row, (loc, (kind, msg))) in got.iter().zip(want) {
            assert_eq!((row.0.as_str(), row.1.as_str(), row.2), (loc, msg, kind));
        }
    }

    #[test]
    fn every_occurrence_of_a_repeated_key_is_checked() {
        for body in [
            r#"{"status":"bogus","status":"firing","groupKey":"g","receiver":"r","alerts":[]}"#,
            r#"{"status":"firing","status":5,"groupKey":"g","receiver":"r","alerts":[]}"#,
        ] {
            check(body.as_bytes(), r#"["body","status"]"#, ENUM);
        }
        let body = br#"{"status":"firing","groupKey":"g","receiver":"r","alerts":[],"groupLabels":{"a":5,"b":"x","a":"y"}}"#;
        check(body, r#"["body","groupLabels","a"]"#, STR);
        // Label rows follow the body's order, not sorted keys.
        let body = br#"{"status":"firing","groupKey":"g","receiver":"r","alerts":[],"commonLabels":{"z":1,"a":null}}"#;
        let got: Vec<_> = rows(body).into_iter().map(|r| r.0).collect();
        assert_eq!(
            got,
            [
                r#"["body","commonLabels","z"]"#,
                r#"["body","commonLabels","a"]"#
            ]
        );
    }

    #[test]
    fn unknown_fields_are_skipped_like_the_typed_parse() {
        // Unknown values are skipped unchecked, but for their depth: no surrogate or range check.
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        let mut body = VALID
            .replacen('{', &format!(r#"{{"x":{deep},"#), 1)
            .into_bytes();
        body.splice(1..1, b"\"y\":\"\\ud800\",\"z\":1e999,".iter().copied());
        assert!(Webhook::from_slice(&body).is_ok());
        assert!(parse(&body).is_ok());
        assert!(collect(&body).is_empty());
    }

    #[test]
    fn a_body_that_is_not_utf8_is_not_json_even_in_unknown_fields() {
        for (raw, offset, position) in [
            (&b"{\"x\":\"\xff\","[..], 6, "line 1 column 7"),
            (b"{\"x\":{\"\xc3\x28\":1},", 7, "line 1 column 8"),
            (
                b"{\n \"x\": [\"ok\", \"\xe2\x82\"],",
                16,
                "line 2 column 15",
            ),
        ] {
            let body = [raw, &VALID.as_bytes()[1..]].concat();
            assert!(Webhook::from_slice(&body).is_err());
            let msg = format!("invalid unicode code point at {position}");
            assert_one(&body, &format!(r#"["body",{offset}]"#), JSON_DECODE, &msg);
        }
        // A syntax error before the bad byte is the one reported.
        let body = b"{\"x\" 1, \"y\":\"\xff\"}";
        assert_one(
            body,
            r#"["body",5]"#,
            JSON_DECODE,
            "expected `:` at line 1 column 6",
        );
    }

    #[test]
    fn list_body_gets_the_alertmanager_hint() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/30-prometheus-to-alertmanager-POST-api-v2-alerts.json"
        );
        let body = std::fs::read(path).unwrap();
        let got = rows(&body);
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].0.as_str(), got[0].2),
            (r#"["body"]"#, "type_error.dict")
        );
        assert!(got[0].1.starts_with("value is not a valid dict; "));
        assert!(got[0].1.contains("/api/v2/alerts") && got[0].1.contains("webhook_configs"));
        check(b"[]", r#"["body"]"#, ("type_error.dict", LIST_BODY_HINT));
    }

    #[test]
    fn every_other_fixture_passes() {
        for (name, body) in crate::payload::webhook_fixtures() {
            assert!(parse(&body).is_ok(), "{name}");
            assert_eq!(collect(&body), [], "{name}");
        }
    }

    /// The label keys in the rows' `loc`s.
    fn keys(err: &ValidationErrors) -> Vec<String> {
        err.errors()
            .iter()
            .filter_map(|e| match &e.loc[..] {
                [_, _, LocItem::Key(key)] => Some(key.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn keys_in_loc_are_cut_to_100_characters() {
        for unit in ["k", "é", "🔥"] {
            let key = unit.repeat((1 << 20) / unit.len());
            let body = set("/commonLabels", &format!(r#"{{"{key}":1}}"#));
            let err = parse(&body).unwrap_err();
            assert_eq!(keys(&err), [unit.repeat(MAX_ECHO) + "…"]);
            assert!(err.to_json().len() < 600, "{}", err.to_json().len());
        }
    }

    #[test]
    fn all_keys_together_repeat_at_most_100_characters() {
        // 30 + 30 + 30 characters, then 10 of the fourth key and none of the rest.
        let labels: Vec<String> = (0..6)
            .map(|i| format!(r#""{}":{i}"#, char::from(b'a' + i).to_string().repeat(30)))
            .collect();
        let body = set("/commonLabels", &format!("{{{}}}", labels.join(",")));
        let err = parse(&body).unwrap_err();
        let expected = [
            "a".repeat(30),
            "b".repeat(30),
            "c".repeat(30),
            "d".repeat(10) + "…",
        ];
        assert_eq!(
            keys(&err),
            [&expected[..], &["…".to_owned(), "…".to_owned()]].concat()
        );
        // A key that fits the budget exactly is not cut.
        let body = set(
            "/commonLabels",
            &format!(r#"{{"{}":1}}"#, "k".repeat(MAX_ECHO)),
        );
        assert_eq!(keys(&parse(&body).unwrap_err()), ["k".repeat(MAX_ECHO)]);
    }

    #[test]
    fn fallback_message_echoes_at_most_100_characters() {
        let long = "x".repeat(5000);
        let body = format!(r#"{{"truncatedAlerts":"{long}"}}"#);
        let typed = Webhook::from_slice(body.as_bytes()).unwrap_err();
        assert!(typed.to_string().contains(&long));
        let msg = json_message(&typed);
        assert!(msg.len() < 200, "{msg}");
        assert!(msg.contains(&"x".repeat(50)) && !msg.contains(&"x".repeat(MAX_ECHO + 1)));
        assert!(msg.ends_with(" at line 1 column 5021"), "{msg}");
    }

    fn decode(body: &[u8], offset: usize, msg: &str) {
        assert_one(body, &format!(r#"["body",{offset}]"#), JSON_DECODE, msg);
    }

    #[test]
    fn not_json_is_one_decode_row_with_a_byte_offset() {
        // At the byte at fault, or at the end of the input for an early end, with
        // the same position in the message (as Python's `json` places its errors).
        decode(b"", 0, "EOF while parsing a value at line 1 column 1");
        decode(b" \n\t ", 4, "EOF while parsing a value at line 2 column 3");
        decode(b"{", 1, "EOF while parsing an object at line 1 column 2");
        decode(
            b"{\"a\":",
            5,
            "EOF while parsing a value at line 1 column 6",
        );
        decode(b"nul", 3, "EOF while parsing a value at line 1 column 4");
        decode(b"{\"a\":\n  tru}", 11, "expected ident at line 2 column 6");
        // A control character in a string, skipped or kept: at the character.
        let control = "control character (\\u0000-\\u001F) found while parsing a string";
        decode(
            b"{\"a\":\"xy\tz\"}",
            8,
            &format!("{control} at line 1 column 9"),
        );
        decode(
            b"{\"a\":\"\x01\"}",
            6,
            &format!("{control} at line 1 column 7"),
        );
        let body = b"{\"receiver\":\"xy\tz\"}";
        decode(body, 15, &format!("{control} at line 1 column 16"));
        let trailing = format!("{VALID}\n  x");
        decode(
            trailing.as_bytes(),
            trailing.len() - 1,
            "trailing characters at line 4 column 3",
        );
        let body = b"{\"groupKey\":\"g\",\"receiver\":\"caf\xff\",\"alerts\":[]}";
        decode(body, 31, "invalid unicode code point at line 1 column 32");
        // A lone surrogate is JSON: the body gets the rows of its real problems.
        let body = br#"{"groupKey":"g","receiver":"\ud800","alerts":[]}"#;
        check(body, r#"["body","status"]"#, MISSING);
        let body = br#"{"groupKey":"g","receiver":"\ud800","alerts":[]} x"#;
        decode(body, 49, "trailing characters at line 1 column 50");
        // A later syntax error wins over earlier type errors.
        decode(
            br#"{"status":5,"alerts":[null],}"#,
            28,
            "trailing comma at line 1 column 29",
        );
    }

    #[test]
    fn deep_nesting_neither_overflows_nor_panics() {
        let open = "[".repeat(100_000);
        let closed = format!("{open}{}", "]".repeat(100_000));
        for value in [&open, &closed] {
            // Leaves are read as a `Value`, which stops at serde_json's depth limit of 128.
            for at in ["/receiver", "/alerts/0/fingerprint", "/truncatedAlerts"] {
                let body = String::from_utf8(set(at, "0")).unwrap();
                let body = body.replacen(":0", &format!(":{value}"), 1);
                let got = rows(body.as_bytes());
                assert_eq!(got.len(), 1);
                assert_eq!(got[0].2, JSON_DECODE);
                assert!(got[0].1.starts_with("recursion limit exceeded"), "{got:?}");
            }
            // A list where an object belongs is skipped like an unknown value, and
            // refused as deeply: in every place the same depth is too deep.
            let body = String::from_utf8(set("/commonLabels", "0")).unwrap();
            let got = rows(body.replacen(":0", &format!(":{value}"), 1).as_bytes());
            assert_eq!((got.len(), got[0].2), (1, JSON_DECODE), "{got:?}");
            assert!(got[0].1.starts_with("recursion limit exceeded"), "{got:?}");
            let label = format!(r#"{{"commonLabels":{{"a":{value}}}}}"#);
            assert!(
                rows(label.as_bytes())[0]
                    .1
                    .starts_with("recursion limit exceeded")
            );
        }
        // Unknown field, the body itself: serde_json skips them without a limit, but
        // the 128th level is refused there too, at its bracket, before a later error.
        for body in [format!(r#"{{"x":{open}"#), closed.clone()] {
            let at = body.find("[[").unwrap() + MAX_DEPTH - usize::from(body.starts_with('{'));
            let msg = format!("recursion limit exceeded at line 1 column {}", at + 1);
            decode(body.as_bytes(), at, &msg);
        }
        // 127 levels are JSON.
        let fits = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        check(
            fits.as_bytes(),
            r#"["body"]"#,
            ("type_error.dict", LIST_BODY_HINT),
        );
    }

    #[test]
    fn numbers_too_large_for_an_f64_are_wrong_values_not_broken_json() {
        // `VALID` with `from` replaced by `to` (serde_json cannot build these bodies).
        let edit = |from: &str, to: &str| {
            assert!(VALID.contains(from), "{from}");
            VALID.replacen(from, to, 1).into_bytes()
        };
        let top = |field: &str| edit(r#"{"receiver""#, &format!(r#"{{{field},"receiver""#));
        check(
            &top(r#""truncatedAlerts":1e400"#),
            r#"["body","truncatedAlerts"]"#,
            INT,
        );
        let nines = format!(r#""truncatedAlerts":{}"#, "9".repeat(400));
        check(&top(&nines), r#"["body","truncatedAlerts"]"#, INT);
        check(
            &edit(r#""receiver":"r""#, r#""receiver":-1E+999"#),
            r#"["body","receiver"]"#,
            STR,
        );
        let status = edit(r#"{"status":"firing""#, r#"{"status":1e309"#);
        check(&status, r#"["body","alerts",0,"status"]"#, ENUM);
        let time = edit(
            r#""resolved","startsAt":"2026-01-17T12:22:56Z""#,
            r#""resolved","startsAt":1e309"#,
        );
        check(&time, r#"["body","alerts",1,"startsAt"]"#, DATETIME);
        let labels = top(r#""commonLabels":{"a":"1e400","b":1e400}"#);
        check(&labels, r#"["body","commonLabels","b"]"#, STR);
        // Several, and one in an unknown field (which the typed parse skips too).
        let alerts = edit(
            r#""alerts":["#,
            r#""alerts":[1e400,{"x":1e400,"fingerprint":-1e999},"#,
        );
        let got = rows(&alerts);
        let locs: Vec<&str> = got.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            locs[..2],
            [r#"["body","alerts",0]"#, r#"["body","alerts",1,"status"]"#]
        );
        assert!(
            locs.contains(&r#"["body","alerts",1,"fingerprint"]"#),
            "{locs:?}"
        );
        assert!(!locs.iter().any(|l| l.contains("\"x\"")), "{locs:?}");
        // A syntax error after one keeps its offset.
        let mut body = top(r#""truncatedAlerts":1e400"#);
        body.extend_from_slice(b" x");
        let line_start = 1 + body.iter().rposition(|&b| b == b'\n').unwrap();
        let at = body.len() - 1;
        let msg = format!(
            "trailing characters at line 3 column {}",
            at - line_start + 1
        );
        decode(&body, at, &msg);
    }

    #[test]
    fn at_most_max_errors_rows_then_a_count_of_the_rest() {
        let labels: Vec<String> = (0..3000).map(|i| format!(r#""l{i}":{i}"#)).collect();
        let body = format!(r#"{{"commonLabels":{{{}}}}}"#, labels.join(","));
        let got = rows(body.as_bytes());
        assert_eq!(got.len(), MAX_ERRORS + 1);
        // Keys repeat 100 characters of the body in all: l0 to l35, then `l3…`, then `…`.
        assert_eq!(got[35].0, r#"["body","commonLabels","l35"]"#);
        assert_eq!(got[36].0, r#"["body","commonLabels","l3…"]"#);
        assert_eq!(got[MAX_ERRORS - 1].0, r#"["body","commonLabels","…"]"#);
        // The 3000 labels, and the 4 required fields that are missing.
        let more = (
            "[\"body\"]".to_owned(),
            "2004 more errors not listed (at most 1000 are)".to_owned(),
            TOO_MANY_ERRORS,
        );
        assert_eq!(got[MAX_ERRORS], more);
        let one_more = format!(
            r#"{{"groupKey":"g","status":"firing","receiver":"r","alerts":[],"commonLabels":{{{}}}}}"#,
            labels[..MAX_ERRORS + 1].join(",")
        );
        let got = rows(one_more.as_bytes());
        assert_eq!(
            got[MAX_ERRORS].1,
            "1 more error not listed (at most 1000 are)"
        );
        // Exactly MAX_ERRORS problems: no count row.
        let exact = one_more.replacen(r#""l0":0,"#, "", 1);
        let got = rows(exact.as_bytes());
        assert_eq!((got.len(), got[MAX_ERRORS - 1].2), (MAX_ERRORS, STR.0));
        let broken = format!("{body} x");
        let got = rows(broken.as_bytes());
        assert_eq!((got.len(), got[0].2), (1, JSON_DECODE));
    }

    #[test]
    fn to_json_is_the_fastapi_shape() {
        let body = br#"{"groupKey":"g","status":"firing","alerts":[{"status":null,"labels":{"a\"b":1}}],"truncatedAlerts":1.5}"#;
        let err = parse(body).unwrap_err();
        assert_eq!(
            std::str::from_utf8(&err.to_json()).unwrap(),
            concat!(
                r#"{"detail":["#,
                r#"{"loc":["body","truncatedAlerts"],"msg":"value is not a valid integer","type":"type_error.integer"},"#,
                r#"{"loc":["body","receiver"],"msg":"field required","type":"value_error.missing"},"#,
                r#"{"loc":["body","alerts",0,"status"],"msg":"none is not an allowed value","type":"type_error.none.not_allowed"},"#,
                r#"{"loc":["body","alerts",0,"labels","a\"b"],"msg":"str type expected","type":"type_error.str"},"#,
                r#"{"loc":["body","alerts",0,"startsAt"],"msg":"field required","type":"value_error.missing"},"#,
                r#"{"loc":["body","alerts",0,"fingerprint"],"msg":"field required","type":"value_error.missing"}"#,
                "]}"
            )
        );
        let decode = parse(b"{").unwrap_err();
        assert_eq!(
            &decode.to_json()[..],
            br#"{"detail":[{"loc":["body",1],"msg":"EOF while parsing an object at line 1 column 2","type":"value_error.jsondecode"}]}"#
        );
        assert_eq!(
            err.to_string().lines().take(3).collect::<Vec<_>>(),
            [
                "6 validation errors",
                "body -> truncatedAlerts",
                "  value is not a valid integer (type=type_error.integer)"
            ]
        );
    }

    // ---- property: the walk rejects exactly what the typed parse rejects ----

    /// A JSON value kept as text leaves, so keys can repeat and values can be anything.
    #[derive(Clone, Debug)]
    enum Json {
        Raw(String),
        Obj(Vec<(String, Json)>),
        Arr(Vec<Json>),
    }

    impl Json {
        fn from_value(v: &Value) -> Json {
            match v {
                Value::Object(m) => Json::Obj(
                    m.iter()
                        .map(|(k, v)| (json_str(k), Json::from_value(v)))
                        .collect(),
                ),
                Value::Array(a) => Json::Arr(a.iter().map(Json::from_value).collect()),
                v => Json::Raw(v.to_string()),
            }
        }

        fn write(&self, out: &mut String) {
            match self {
                Json::Raw(s) => out.push_str(s),
                Json::Obj(entries) => {
                    out.push('{');
                    for (i, (k, v)) in entries.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(k);
                        out.push(':');
                        v.write(out);
                    }
                    out.push('}');
                }
                Json::Arr(items) => {
                    out.push('[');
                    for (i, v) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        v.write(out);
                    }
                    out.push(']');
                }
            }
        }

        /// The `n`-th object (pre-order) below and including `self`.
        fn nth_object(&mut self, n: &mut usize) -> Option<&mut Vec<(String, Json)>> {
            match self {
                Json::Raw(_) => None,
                Json::Obj(entries) => {
                    if *n == 0 {
                        return Some(entries);
                    }
                    *n -= 1;
                    entries.iter_mut().find_map(|(_, v)| v.nth_object(n))
                }
                Json::Arr(items) => items.iter_mut().find_map(|v| v.nth_object(n)),
            }
        }

        /// The `n`-th array (pre-order) below and including `self`.
        fn nth_array(&mut self, n: &mut usize) -> Option<&mut Vec<Json>> {
            match self {
                Json::Raw(_) => None,
                Json::Obj(entries) => entries.iter_mut().find_map(|(_, v)| v.nth_array(n)),
                Json::Arr(items) => {
                    if *n == 0 {
                        return Some(items);
                    }
                    *n -= 1;
                    items.iter_mut().find_map(|v| v.nth_array(n))
                }
            }
        }
    }

    fn json_str(s: &str) -> String {
        Value::from(s).to_string()
    }

    const BASE: &str = r#"{"receiver":"team\\.gpu","status":"firing","groupKey":"{}:{alertname=\"X\"}",
        "version":"4","truncatedAlerts":0,"externalURL":"http://am","groupLabels":{"alertname":"X"},
        "commonLabels":{"alertname":"X","severity":"warning"},"commonAnnotations":{},
        "alerts":[{"status":"firing","labels":{"alertname":"X","severity":"warning"},
          "annotations":{"summary":"hot"},"startsAt":"2026-01-17T12:22:56.068Z",
          "endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://p/graph?a=1&b=2","fingerprint":"abc"},
          {"status":"resolved","labels":{},"annotations":{"description":"d"},
          "startsAt":"2026-01-17T12:22:56+02:00","endsAt":"2026-01-17T13:00:00Z","fingerprint":"def"}]}"#;

    fn timestamp() -> impl Strategy<Value = String> {
        (
            0u32..3000,
            0u32..14,
            0u32..33,
            0u32..25,
            0u32..61,
            prop::bool::ANY,
            prop_oneof![
                Just("Z"),
                Just("z"),
                Just("+02:00"),
                Just("-11:30"),
                Just("+24:00"),
                Just(""),
                Just("Zx")
            ],
        )
            .prop_map(|(y, mo, d, h, mi, frac, off)| {
                let frac = if frac { ".5" } else { "" };
                format!("\"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:00{frac}{off}\"")
            })
    }

    fn value() -> impl Strategy<Value = String> {
        let fixed = prop::sample::select(vec![
            "null",
            "0",
            "-0",
            "7",
            "1.5",
            "1e400",
            "-9223372036854775808",
            "9223372036854775808",
            "true",
            r#""x""#,
            r#""firing""#,
            r#""resolved""#,
            r#""Firing""#,
            r#""fir\u0069ng""#,
            r#"{"firing":null}"#,
            "[]",
            "{}",
            r#"{"a":"b"}"#,
            r#"{"a":1}"#,
            r#"{"a":null}"#,
            r#"{"a":"b","a":2}"#,
            r#"[{"status":"firing"}]"#,
            r#""\ud800""#,
            r#""\uD83D\uDD25""#,
            "\"caf\u{e9}\"",
            "[[[[[[[[[[]]]]]]]]]]",
            r#"{"x":{"y":{"z":[1,{"w":null}]}}}"#,
        ])
        .prop_map(str::to_owned);
        prop_oneof![
            4 => fixed,
            2 => timestamp(),
            1 => (1usize..200).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        let names: Vec<&str> = WEBHOOK_FIELDS.iter().chain(ALERT_FIELDS).copied().collect();
        prop_oneof![
            3 => prop::sample::select(names).prop_map(json_str),
            1 => prop::sample::select(vec![r#""st\u0061tus""#, r#""zzz""#, r#""Status""#, r#""orgId""#])
                .prop_map(str::to_owned),
        ]
    }

    /// A change to one entry of an existing object.
    #[derive(Clone, Debug)]
    enum EntryEdit {
        Drop,
        Replace(String),
        Duplicate(String),
        Rename(String),
    }

    /// A change to the document; indexes pick objects/arrays in pre-order and wrap around.
    #[derive(Clone, Debug)]
    enum Edit {
        /// Set field `.1` of the top object (`.0 == 0`) or of alert `.0 - 1` to `.2`.
        Set(usize, &'static str, String),
        Entry(usize, usize, EntryEdit),
        Add(usize, String, String),
        SetElement(usize, usize, String),
    }

    /// Values at the edges of what one field accepts (JSON text).
    fn values_for(field: &str) -> BoxedStrategy<String> {
        let pick = |v: &[&'static str]| prop::sample::select(v.to_vec()).prop_map(str::to_owned);
        let aimed = match field {
            "status" => pick(&[
                r#""firing""#,
                r#""resolved""#,
                r#""Firing""#,
                r#""fir\u0069ng""#,
                r#"{"firing":null}"#,
                r#"{"resolved":null}"#,
                r#"["firing"]"#,
            ])
            .boxed(),
            "truncatedAlerts" => pick(&[
                "0",
                "-0",
                "-1",
                "1.0",
                "1e2",
                "9223372036854775807",
                "9223372036854775808",
                "-9223372036854775808",
                "-9223372036854775809",
                r#""3""#,
            ])
            .boxed(),
            "startsAt" | "endsAt" => timestamp().boxed(),
            "alerts" => pick(&["[]", "[null]", "[{}]", "[[]]", r#"{"0":{}}"#]).boxed(),
            "version" | "groupKey" | "receiver" | "externalURL" | "generatorURL"
            | "fingerprint" => pick(&[r#""""#, r#""\u0026""#, r#""\/""#, "5", "[]"]).boxed(),
            _ => pick(&[
                "{}",
                r#"{"a":"b","a":"c"}"#,
                r#"{"a":"b","a":1}"#,
                r#"{"":null}"#,
                r#"{"\u0000":"\n"}"#,
            ])
            .boxed(),
        };
        prop_oneof![3 => aimed, 1 => Just("null".to_owned()), 1 => value()].boxed()
    }

    fn set_edit() -> impl Strategy<Value = Edit> {
        let names: Vec<&'static str> = WEBHOOK_FIELDS.iter().chain(ALERT_FIELDS).copied().collect();
        (0usize..3, prop::sample::select(names))
            .prop_flat_map(|(target, k)| values_for(k).prop_map(move |v| Edit::Set(target, k, v)))
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let n = || 0usize..12;
        let entry = prop_oneof![
            Just(EntryEdit::Drop),
            value().prop_map(EntryEdit::Replace),
            value().prop_map(EntryEdit::Duplicate),
            key().prop_map(EntryEdit::Rename),
        ];
        prop_oneof![
            4 => set_edit(),
            3 => (n(), n(), entry).prop_map(|(o, e, edit)| Edit::Entry(o, e, edit)),
            1 => (n(), key(), value()).prop_map(|(o, k, v)| Edit::Add(o, k, v)),
            1 => (n(), n(), value()).prop_map(|(a, e, v)| Edit::SetElement(a, e, v)),
        ]
    }

    fn apply(doc: &mut Json, edit: Edit) {
        match edit {
            Edit::Set(target, key, v) => {
                let Json::Obj(top) = doc else { return };
                let object = if target == 0 {
                    Some(top)
                } else {
                    let alerts = top.iter_mut().find(|(k, _)| k == "\"alerts\"");
                    match alerts {
                        Some((_, Json::Arr(items))) => match items.get_mut(target - 1) {
                            Some(Json::Obj(alert)) => Some(alert),
                            _ => None,
                        },
                        _ => None,
                    }
                };
                if let Some(m) = object {
                    let key = json_str(key);
                    match m.iter_mut().find(|(k, _)| *k == key) {
                        Some(entry) => entry.1 = Json::Raw(v),
                        None => m.push((key, Json::Raw(v))),
                    }
                }
            }
            Edit::Entry(o, e, edit) => {
                let Some(m) = doc.nth_object(&mut { o }).filter(|m| !m.is_empty()) else {
                    return;
                };
                let i = e % m.len();
                match edit {
                    EntryEdit::Drop => drop(m.remove(i)),
                    EntryEdit::Replace(v) => m[i].1 = Json::Raw(v),
                    EntryEdit::Duplicate(v) => {
                        let k = m[i].0.clone();
                        m.insert((i + e) % (m.len() + 1), (k, Json::Raw(v)));
                    }
                    EntryEdit::Rename(k) => m[i].0 = k,
                }
            }
            Edit::Add(o, k, v) => {
                if let Some(m) = doc.nth_object(&mut { o }) {
                    let at = o % (m.len() + 1);
                    m.insert(at, (k, Json::Raw(v)));
                }
            }
            Edit::SetElement(a, e, v) => {
                if let Some(items) = doc.nth_array(&mut { a }) {
                    if items.is_empty() || e % 3 == 0 {
                        items.push(Json::Raw(v));
                    } else {
                        let i = e % items.len();
                        items[i] = Json::Raw(v);
                    }
                }
            }
        }
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        let bytes = prop_oneof![
            3 => prop::sample::select(b"{}[]\",:\\ 0n-e.".to_vec()),
            1 => any::<u8>(),
        ];
        (
            prop::collection::vec(edit(), 0..5),
            prop::option::weighted(0.15, any::<prop::sample::Index>()),
            prop_oneof![
                3 => Just(Vec::new()),
                1 => prop::collection::vec((any::<prop::sample::Index>(), bytes), 1..3),
            ],
            prop::bool::weighted(0.2),
        )
            .prop_map(|(edits, cut, inserts, pretty)| {
                let base: Value = serde_json::from_str(BASE).unwrap();
                let mut doc = Json::from_value(&base);
                for e in edits {
                    apply(&mut doc, e);
                }
                let mut text = String::new();
                doc.write(&mut text);
                if pretty {
                    text = text.replace(',', ",\n  ");
                }
                let mut b = text.into_bytes();
                if let Some(cut) = cut {
                    b.truncate(cut.index(b.len() + 1));
                }
                for (at, byte) in inserts {
                    b.insert(at.index(b.len() + 1), byte);
                }
                b
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn walk_rejects_exactly_what_the_typed_parse_rejects(b in body()) {
            let typed = Webhook::from_slice(&b);
            let rows = collect(&b);
            prop_assert_eq!(typed.is_ok(), rows.is_empty(), "typed: {:?}\nrows: {:?}\nbody: {}", typed.err(), rows, String::from_utf8_lossy(&b));
            prop_assert!(rows.len() <= MAX_ERRORS + 1);
            prop_assert!(rows.iter().rev().skip(1).all(|row| row.kind != TOO_MANY_ERRORS));
            for row in &rows {
                prop_assert!(matches!(row.loc.first(), Some(LocItem::Key(k)) if k == "body"));
                if row.kind == JSON_DECODE {
                    prop_assert_eq!(rows.len(), 1);
                    prop_assert!(matches!(row.loc[..], [_, LocItem::Index(o)] if o <= b.len()));
                }
            }
        }
    }
}
