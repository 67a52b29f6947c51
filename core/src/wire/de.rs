//! The deserializer behind [`super::from_value`]: a JSON value read through
//! a [`Style`]. Struct keys are matched against the struct's own field list
//! (which serde's derive hands to `deserialize_struct`), so free-form maps
//! keep their keys; durations are recognised by the token their serde
//! helper passes to `deserialize_newtype_struct`.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{camel, Spelling, Style};
use crate::units::{parse_duration, DURATION_TOKEN, MAX_DURATION};


/// An error with the field it is about, as the caller spelled it.
#[derive(Debug)]
pub(crate) struct WireError {
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WireError {}

impl de::Error for WireError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        WireError {
            field: None,
            message: msg.to_string(),
        }
    }
}

fn at(field: &str, message: impl Into<String>) -> WireError {
    WireError {
        field: Some(field.to_string()),
        message: message.into(),
    }
}

/// How a number given for a duration is read.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Seconds,
    Millis,
    /// camelCase without the `Ms` suffix: refused, so that `timeout: 5`
    /// cannot mean five milliseconds by accident.
    Refused,
}

/// One value on its way into a struct, with where it sits.
pub(super) struct Styled<'s> {
    value: Value,
    style: Style,
    /// Canonical (snake_case) path, and the caller's spelling of it.
    path: String,
    spelled: String,
    unit: Unit,
    spelling: &'s Spelling,
    /// Set when the value was read as a duration.
    duration: Option<Rc<Cell<bool>>>,
}

impl<'s> Styled<'s> {
    pub(super) fn root(value: Value, style: Style, spelling: &'s Spelling) -> Self {
        Styled {
            value,
            style,
            path: String::new(),
            spelled: String::new(),
            unit: default_unit(style),
            spelling,
            duration: None,
        }
    }

    fn child(&self, value: Value, path: String, spelled: String, unit: Unit) -> Styled<'s> {
        Styled {
            value,
            style: self.style,
            path,
            spelled,
            unit,
            spelling: self.spelling,
            duration: None,
        }
    }

    fn field(&self) -> String {
        if self.spelled.is_empty() {
            "value".into()
        } else {
            self.spelled.clone()
        }
    }

    /// The duration in milliseconds, from a number in this value's unit or text.
    fn duration_ms(&self) -> Result<u64, WireError> {
        let field = self.field();
        let ms = match (&self.value, self.unit) {
            (Value::Number(_), Unit::Refused) => {
                return Err(at(
                    &field,
                    format!("give this duration in milliseconds as `{field}Ms`, or as text such as \"30s\""),
                ))
            }
            (Value::Number(n), unit) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                let ms = if matches!(unit, Unit::Seconds) { x * 1000.0 } else { x };
                if !ms.is_finite() || ms < 0.0 {
                    return Err(at(&field, format!("must be a duration of zero or more, got {x}")));
                }
                ms
            }
            (Value::String(s), _) => parse_duration(s).map_err(|e| at(&field, e))?.as_secs_f64() * 1000.0,
            (other, _) => return Err(at(&field, format!("expected a duration, got {}", kind(other)))),
        };
        if ms > MAX_DURATION.as_millis() as f64 {
            return Err(at(&field, "must be at most 30 days"));
        }
        Ok(ms.round() as u64)
    }
}

fn default_unit(style: Style) -> Unit {
    match style {
        Style::Snake => Unit::Seconds,
        Style::Camel => Unit::Refused,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The struct field a key names, and whether it carried the `Ms` suffix.
fn match_key(style: Style, key: &str, fields: &[&'static str]) -> Option<(&'static str, bool)> {
    fields.iter().find_map(|f| match style {
        Style::Snake => (key == *f).then_some((*f, false)),
        Style::Camel => {
            let c = camel(f);
            if key == c {
                Some((*f, false))
            } else if key.strip_suffix("Ms") == Some(c.as_str()) {
                Some((*f, true))
            } else {
                None
            }
        }
    })
}

/// Integers from JavaScript arrive as whole floats: read them as integers.
macro_rules! integer {
    ($method:ident) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
            if let Value::Number(n) = &self.value {
                if n.is_f64() {
                    let x = n.as_f64().unwrap_or(f64::NAN);
                    if x.fract() == 0.0 && x >= 0.0 && x < u64::MAX as f64 {
                        return visitor.visit_u64(x as u64);
                    }
                    if x.fract() == 0.0 && x < 0.0 && x >= i64::MIN as f64 {
                        return visitor.visit_i64(x as i64);
                    }
                }
            }
            self.deserialize_any(visitor)
        }
    };
}

impl<'de> de::Deserializer<'de> for Styled<'_> {
    type Error = WireError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(ref n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_string(s),
            Value::Array(_) => self.deserialize_seq(visitor),
            Value::Object(_) => self.deserialize_map(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, WireError> {
        if name == DURATION_TOKEN {
            if let Some(hit) = &self.duration {
                hit.set(true);
            }
            return visitor.visit_u64(self.duration_ms()?);
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        match self.value {
            Value::Array(items) => {
                let spelling = self.spelling;
                let (style, path, spelled, unit) = (self.style, self.path, self.spelled, self.unit);
                visitor.visit_seq(Seq {
                    items: items.into_iter(),
                    make: Box::new(move |v| Styled {
                        value: v,
                        style,
                        path: path.clone(),
                        spelled: spelled.clone(),
                        unit,
                        spelling,
                        duration: None,
                    }),
                })
            }
            ref other => Err(at(&self.field(), format!("expected a list, got {}", kind(other)))),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        let map = match self.value {
            Value::Object(map) => map,
            ref other => return Err(at(&self.field(), format!("expected an object, got {}", kind(other)))),
        };
        let entries = map
            .into_iter()
            .map(|(k, v)| Entry {
                path: join(&self.path, &k),
                spelled: join(&self.spelled, &k),
                unit: default_unit(self.style),
                ms: false,
                key: k,
                value: v,
            })
            .collect::<Vec<_>>();
        let parent = Styled { value: Value::Null, ..self };
        visitor.visit_map(Map { parent, entries: entries.into_iter(), next: None })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, WireError> {
        let map = match self.value {
            Value::Object(map) => map,
            // A full positional form, as Python's `(uid, gid)` tuples.
            Value::Array(ref items) if items.len() == fields.len() => return self.deserialize_seq(visitor),
            ref other => return Err(at(&self.field(), format!("expected an object, got {}", kind(other)))),
        };
        let mut entries: Vec<Entry> = Vec::with_capacity(map.len());
        for (k, v) in map {
            let spelled = join(&self.spelled, &k);
            let Some((name, ms)) = match_key(self.style, &k, fields) else {
                let expected: Vec<String> = fields.iter().map(|f| self.style.spell(f)).collect();
                return Err(at(
                    &spelled,
                    format!("unknown field (expected one of: {})", expected.join(", ")),
                ));
            };
            if let Some(dup) = entries.iter().find(|e| e.key == name) {
                return Err(at(&spelled, format!("given twice (also as `{}`)", dup.spelled)));
            }
            let path = join(&self.path, name);
            self.spelling.note(path.clone(), spelled.clone());
            let unit = if ms { Unit::Millis } else { default_unit(self.style) };
            entries.push(Entry { key: name.to_string(), value: v, path, spelled, unit, ms });
        }
        let parent = Styled { value: Value::Null, ..self };
        visitor.visit_map(Map { parent, entries: entries.into_iter(), next: None })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, WireError> {
        let field = self.field();
        match self.value {
            Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            other => de::Deserializer::deserialize_enum(other, name, variants, visitor)
                .map_err(|e| at(&field, e.to_string())),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WireError> {
        visitor.visit_unit()
    }

    integer!(deserialize_u8);
    integer!(deserialize_u16);
    integer!(deserialize_u32);
    integer!(deserialize_u64);
    integer!(deserialize_i8);
    integer!(deserialize_i16);
    integer!(deserialize_i32);
    integer!(deserialize_i64);

    serde::forward_to_deserialize_any! {
        bool f32 f64 char str string bytes byte_buf unit unit_struct
        tuple tuple_struct identifier i128 u128
    }
}

struct Entry {
    key: String,
    value: Value,
    path: String,
    spelled: String,
    unit: Unit,
    /// The key had the `Ms` suffix: the value must be a duration.
    ms: bool,
}

struct Map<'s> {
    parent: Styled<'s>,
    entries: std::vec::IntoIter<Entry>,
    next: Option<Entry>,
}

impl<'de> MapAccess<'de> for Map<'_> {
    type Error = WireError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, WireError> {
        let Some(e) = self.entries.next() else { return Ok(None) };
        let key = seed.deserialize(e.key.clone().into_deserializer())?;
        self.next = Some(e);
        Ok(Some(key))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, WireError> {
        let e = self.next.take().expect("a value follows its key");
        let null = e.value.is_null();
        let hit = Rc::new(Cell::new(false));
        let mut child = self.parent.child(e.value, e.path, e.spelled.clone(), e.unit);
        child.duration = Some(hit.clone());
        let v = seed.deserialize(child).map_err(|mut err| {
            if err.field.is_none() {
                err.field = Some(e.spelled.clone());
            }
            err
        })?;
        if e.ms && !null && !hit.get() {
            return Err(at(&e.spelled, "unknown field (only durations take the `Ms` suffix)"));
        }
        Ok(v)
    }
}

type MakeStyled<'s> = Box<dyn Fn(Value) -> Styled<'s> + 's>;

struct Seq<'s> {
    items: std::vec::IntoIter<Value>,
    make: MakeStyled<'s>,
}

impl<'de> SeqAccess<'de> for Seq<'_> {
    type Error = WireError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, WireError> {
        match self.items.next() {
            Some(v) => seed.deserialize((self.make)(v)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}
