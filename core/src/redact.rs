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
        let mut secrets: Vec<Vec<u8>> = env
            .into_iter()
            .filter(|(k, v)| SECRET_VARS.contains(&k.as_str()) && v.len() >= 6)
            .map(|(_, v)| v.as_bytes().to_vec())
            .collect();
        secrets.sort();
        secrets.dedup();
        Redactor { secrets }
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
    }
}
