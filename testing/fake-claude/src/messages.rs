//! The stream-json lines the real CLI prints, built by hand.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::json::{str_array, Obj};
use crate::Ctx;

const USAGE: &str = r#"{"input_tokens":12,"output_tokens":7}"#;
const RESULT_USAGE: &str = r#"{"input_tokens":12,"output_tokens":7,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}"#;
const ZERO_USAGE: &str = r#"{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}"#;

/// `{"type":"system","subtype":"init",...}`
pub fn init(ctx: &Ctx) -> String {
    Obj::new()
        .str("type", "system")
        .str("subtype", "init")
        .str("session_id", &ctx.session_id)
        .str("model", &ctx.model)
        .str("claude_code_version", "0.0.0-fake")
        .raw("tools", &str_array(["Read", "Write", "Bash"]))
        .str("cwd", &ctx.cwd)
        .str("permissionMode", "default")
        .build()
}

/// Start of a `{"type":"system","subtype":...}` line; add fields, then `build()`.
pub fn system(subtype: &str) -> Obj {
    Obj::new().str("type", "system").str("subtype", subtype)
}

/// An assistant message; `content` is a JSON array of content blocks.
/// Message ids count up: msg_1, msg_2, ...
pub fn assistant(ctx: &Ctx, content: &str) -> String {
    static NEXT_ID: AtomicU32 = AtomicU32::new(1);
    let id = format!("msg_{}", NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let message = Obj::new()
        .str("id", &id)
        .str("type", "message")
        .str("role", "assistant")
        .str("model", &ctx.model)
        .raw("content", content)
        .raw("usage", USAGE)
        .build();
    Obj::new()
        .str("type", "assistant")
        .raw("message", &message)
        .str("session_id", &ctx.session_id)
        .build()
}

/// An assistant message with a single text block.
pub fn assistant_text(ctx: &Ctx, text: &str) -> String {
    let block = Obj::new().str("type", "text").str("text", text).build();
    assistant(ctx, &format!("[{block}]"))
}

/// A user message carrying one tool_result block.
pub fn user_tool_result(ctx: &Ctx, tool_use_id: &str, content: &str, is_error: bool) -> String {
    let block = Obj::new()
        .str("type", "tool_result")
        .str("tool_use_id", tool_use_id)
        .str("content", content)
        .bool("is_error", is_error)
        .build();
    let message = Obj::new()
        .str("role", "user")
        .raw("content", &format!("[{block}]"))
        .build();
    Obj::new()
        .str("type", "user")
        .raw("message", &message)
        .str("session_id", &ctx.session_id)
        .build()
}

/// Options for the final `{"type":"result"}` line.
pub struct Result<'a> {
    pub text: &'a str,
    pub is_error: bool,
    pub api_error_status: Option<u32>,
    pub duration_ms: u128,
    pub num_turns: u32,
    pub terminal_reason: &'a str,
}

impl<'a> Result<'a> {
    /// A successful one-turn result, as in the `ok` scenario.
    pub fn ok(text: &'a str) -> Self {
        Result {
            text,
            is_error: false,
            api_error_status: None,
            duration_ms: 5,
            num_turns: 1,
            terminal_reason: "completed",
        }
    }

    pub fn build(&self, ctx: &Ctx) -> String {
        let mut o = Obj::new()
            .str("type", "result")
            .str("subtype", "success")
            .bool("is_error", self.is_error);
        if let Some(status) = self.api_error_status {
            o = o.num("api_error_status", status);
        }
        let (cost, usage) = if self.is_error {
            ("0", ZERO_USAGE)
        } else {
            ("0.0123", RESULT_USAGE)
        };
        o.num("duration_ms", self.duration_ms)
            .num("duration_api_ms", self.duration_ms * 3 / 5)
            .num("num_turns", self.num_turns)
            .str("result", self.text)
            .str("session_id", &ctx.session_id)
            .raw("total_cost_usd", cost)
            .raw("usage", usage)
            .str("terminal_reason", self.terminal_reason)
            .build()
    }
}

/// The standard success result line.
pub fn result(ctx: &Ctx, text: &str) -> String {
    Result::ok(text).build(ctx)
}

/// `{"type":"system","subtype":"fake_env",argv,stdin,env,cwd}`: what the
/// manager passed us. Also written to `$FAKE_CLAUDE_RECORD`.
pub fn fake_env(ctx: &Ctx) -> String {
    let mut vars: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    vars.sort();
    let mut env = Obj::new();
    for (k, v) in &vars {
        env = env.str(k, v);
    }
    system("fake_env")
        .raw("argv", &str_array(&ctx.argv))
        .str("stdin", &ctx.prompt)
        .raw("env", &env.build())
        .str("cwd", &ctx.cwd)
        .build()
}
