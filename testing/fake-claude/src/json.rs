//! Hand-written JSON output: a string escaper and a tiny object builder.
//!
//! Only what the fake CLI needs; values are written in insertion order.

use std::fmt::{Display, Write as _};

/// Appends `s` to `out` as a quoted JSON string.
pub fn escape_into(out: &mut String, s: &str) {
    out.push('"');
    // Every byte that needs escaping is ASCII, so slicing at those bytes
    // always lands on char boundaries; unescaped runs are copied in one go.
    let bytes = s.as_bytes();
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run_start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(esc);
        }
        run_start = i + 1;
    }
    out.push_str(&s[run_start..]);
    out.push('"');
}

/// A JSON array of strings.
pub fn str_array<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        escape_into(&mut out, item.as_ref());
    }
    out.push(']');
    out
}

/// A JSON array of numbers.
pub fn num_array<T: Display>(items: impl IntoIterator<Item = T>) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{item}");
    }
    out.push(']');
    out
}

/// Builds one JSON object: `Obj::new().str("type", "x").num("n", 1).build()`.
pub struct Obj(String);

impl Obj {
    pub fn new() -> Obj {
        Obj(String::from("{"))
    }

    fn key(&mut self, k: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        escape_into(&mut self.0, k);
        self.0.push(':');
    }

    pub fn str(mut self, k: &str, v: &str) -> Obj {
        self.key(k);
        escape_into(&mut self.0, v);
        self
    }

    /// `v` must already be valid JSON (an object, array, number...).
    pub fn raw(mut self, k: &str, v: &str) -> Obj {
        self.key(k);
        self.0.push_str(v);
        self
    }

    /// Integers, or finite floats.
    pub fn num<T: Display>(mut self, k: &str, v: T) -> Obj {
        self.key(k);
        let _ = write!(self.0, "{v}");
        self
    }

    pub fn bool(mut self, k: &str, v: bool) -> Obj {
        self.key(k);
        self.0.push_str(if v { "true" } else { "false" });
        self
    }

    pub fn build(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(s: &str) -> String {
        let mut out = String::new();
        escape_into(&mut out, s);
        out
    }

    #[test]
    fn escapes() {
        assert_eq!(
            quote("a\"b\\c\n\t\u{1}é·"),
            "\"a\\\"b\\\\c\\n\\t\\u0001é·\""
        );
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn builds_objects() {
        let o = Obj::new()
            .str("a", "x")
            .num("n", 0.0123)
            .bool("b", false)
            .raw("l", &str_array(["p", "q"]))
            .raw("m", &num_array([1, 2]))
            .build();
        assert_eq!(
            o,
            r#"{"a":"x","n":0.0123,"b":false,"l":["p","q"],"m":[1,2]}"#
        );
        assert_eq!(Obj::new().build(), "{}");
    }
}
