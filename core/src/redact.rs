//! Keeps secret values (API keys, tokens) out of logs, events and errors.

use std::borrow::Cow;

use memchr::memmem;

/// Environment variables whose values are secrets.
pub(crate) const SECRET_VARS: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

const MASK: &[u8] = b"[REDACTED]";

/// Replaces known secret values with `[REDACTED]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<Vec<u8>>,
}

impl Redactor {
    /// Collects the secret values among `env` (values shorter than 6 bytes are
    /// not treated as secrets: they would mask ordinary words).
    pub(crate) fn from_env<'a>(env: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        let values = env
            .into_iter()
            .filter(|(k, _)| SECRET_VARS.contains(&k.as_str()))
            .map(|(_, v)| v.clone());
        Redactor::default().with_secrets(values)
    }

    /// Also masks these values (those of at least 6 bytes): the secrets of
    /// a job's MCP servers, say.
    pub(crate) fn with_secrets(mut self, values: impl IntoIterator<Item = String>) -> Self {
        for v in values.into_iter().filter(|v| v.len() >= 6) {
            // As written, and as JSON writes it: with `"` and `\` escaped,
            // and with every character escaped (`\u0073\u006b…`, either
            // case of hex).
            let json = serde_json::to_string(&v).unwrap_or_default();
            let lower: String = v.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
            let upper: String = v.chars().map(|c| format!("\\u{:04X}", c as u32)).collect();
            self.secrets.push(json.as_bytes()[1..json.len() - 1].to_vec());
            self.secrets.extend([v.into_bytes(), lower.into_bytes(), upper.into_bytes()]);
        }
        self.secrets.sort();
        self.secrets.dedup();
        self
    }

    /// The bytes with every secret masked.
    pub(crate) fn bytes<'a>(&self, data: &'a [u8]) -> Cow<'a, [u8]> {
        let mut out: Cow<'a, [u8]> = Cow::Borrowed(data);
        for s in &self.secrets {
            if memmem::find(&out, s).is_none() {
                continue;
            }
            let mut buf = Vec::with_capacity(out.len());
            let mut rest: &[u8] = &out;
            while let Some(i) = memmem::find(rest, s) {
                buf.extend_from_slice(&rest[..i]);
                buf.extend_from_slice(MASK);
                rest = &rest[i + s.len()..];
            }
            buf.extend_from_slice(rest);
            out = Cow::Owned(buf);
        }
        out
    }

    /// The text with every secret masked.
    pub(crate) fn text(&self, s: &str) -> String {
        String::from_utf8_lossy(&self.bytes(s.as_bytes())).into_owned()
    }

    /// A value (an event, a result) with every secret in its text masked:
    /// for values parsed from a line whose secrets were hidden by JSON
    /// escapes (`\u0073k-…`), which the line's own masking cannot see.
    pub(crate) fn value<T: serde::Serialize + serde::de::DeserializeOwned>(&self, v: T) -> T {
        if self.secrets.is_empty() {
            return v;
        }
        let Ok(json) = serde_json::to_vec(&v) else { return v };
        match self.bytes(&json) {
            Cow::Borrowed(_) => v,
            Cow::Owned(masked) => serde_json::from_slice(&masked).unwrap_or(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence() {
        let env = [("ANTHROPIC_API_KEY".to_string(), "sk-secret-123".to_string())];
        let r = Redactor::from_env(env.iter().map(|(a, b)| (a, b)));
        assert_eq!(
            r.text("a sk-secret-123 b sk-secret-123"),
            "a [REDACTED] b [REDACTED]"
        );
        assert_eq!(r.text("clean"), "clean");
        let r = r.with_secrets(["tok\"en-456".to_string(), "short".to_string()]);
        assert_eq!(r.text(r#"{"v":"tok\"en-456"} short"#), r#"{"v":"[REDACTED]"} short"#);
    }
}
