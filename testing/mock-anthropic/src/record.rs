//! The requests the mock received and what it answered, kept for tests
//! ([`crate::MockServer::received`]): the last `MockConfig::request_log` of them.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde_json::Value;

use crate::scenario;

/// One `/v1/messages` request and the mock's answer.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The request's number (from 1, errors included).
    pub n: usize,
    /// When it arrived.
    pub at: std::time::SystemTime,
    /// The `x-claude-code-session-id` header.
    pub session_header: Option<String>,
    /// The request body.
    pub body: Value,
    /// The answer: the message as a non-streaming response would carry it
    /// (`content`, `stop_reason`), or `{"status": N, "error": {...}}`.
    pub reply: Value,
}

impl Recorded {
    /// The CLI session the request belongs to: the session header, else the
    /// `session_id` inside `metadata.user_id` (a JSON string).
    pub fn session_id(&self) -> Option<String> {
        if let Some(s) = &self.session_header {
            return Some(s.clone());
        }
        let user = self.body.pointer("/metadata/user_id")?.as_str()?;
        let v: Value = serde_json::from_str(user).ok()?;
        v.get("session_id")?.as_str().map(String::from)
    }

    /// The system text (the `system` blocks joined by newlines).
    pub fn system_text(&self) -> String {
        scenario::system_text(&self.body)
    }

    /// Names of the tools offered.
    pub fn tool_names(&self) -> Vec<String> {
        scenario::tool_names(&self.body).into_iter().map(String::from).collect()
    }

    /// The prompts of the conversation, one per run of a resumed session
    /// (without the CLI's `<system-reminder>` sections).
    pub fn prompts(&self) -> Vec<String> {
        scenario::prompt_texts(&self.body).into_iter().map(|(_, t)| t).collect()
    }

    /// The conversation's messages.
    pub fn messages(&self) -> &[Value] {
        self.body.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every content block of the conversation of type `ty` (`tool_use`,
    /// `tool_result`, `text`).
    pub fn blocks(&self, ty: &str) -> Vec<&Value> {
        self.messages()
            .iter()
            .filter_map(|m| m.get("content").and_then(Value::as_array))
            .flatten()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some(ty))
            .collect()
    }

    /// The input of the tool call `name` the mock answered with, if it did.
    pub fn answered_tool_input(&self, name: &str) -> Option<&Value> {
        self.reply
            .get("content")?
            .as_array()?
            .iter()
            .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_use") && b.get("name").and_then(Value::as_str) == Some(name))?
            .get("input")
    }
}

/// The bounded log.
#[derive(Debug)]
pub(crate) struct Log {
    cap: usize,
    items: Mutex<VecDeque<Recorded>>,
}

impl Log {
    pub(crate) fn new(cap: usize) -> Log {
        Log {
            cap,
            items: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn push(&self, r: Recorded) {
        if self.cap == 0 {
            return;
        }
        let mut items = self.items.lock().expect("request log");
        if items.len() == self.cap {
            items.pop_front();
        }
        items.push_back(r);
    }

    pub(crate) fn all(&self) -> Vec<Recorded> {
        self.items.lock().expect("request log").iter().cloned().collect()
    }
}
