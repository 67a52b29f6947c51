//! `mcp-echo`: a stdio MCP server (JSON-RPC 2.0, one message a line) with
//! one tool, `echo`, that returns its `text` argument. Offline, no
//! dependencies beyond `serde_json`. See README.md.

use std::io::{BufRead, Write};

use serde_json::{json, Value};

/// The protocol version answered when the client asks for one we do not know.
const PROTOCOL_VERSION: &str = "2025-06-18";
const KNOWN_VERSIONS: &[&str] = &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

fn echo_tool() -> Value {
    json!({
        "name": "echo",
        "description": "Returns the text it is given (mcp-echo, a test server).",
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string", "description": "The text to echo back."}},
            "required": ["text"]
        }
    })
}

/// The text the `echo` tool returns: `MCP_ECHO_PREFIX` (if set) then the text.
fn echo(args: &Value) -> Result<String, String> {
    let text = args
        .get("text")
        .and_then(Value::as_str)
        .ok_or("the `text` argument (a string) is required")?;
    let prefix = std::env::var("MCP_ECHO_PREFIX").unwrap_or_default();
    Ok(format!("{prefix}{text}"))
}

/// The result of one request, or a JSON-RPC error `(code, message)`.
fn handle(method: &str, params: &Value) -> Result<Value, (i64, String)> {
    match method {
        "initialize" => {
            let asked = params.get("protocolVersion").and_then(Value::as_str).unwrap_or("");
            let version = if KNOWN_VERSIONS.contains(&asked) { asked } else { PROTOCOL_VERSION };
            Ok(json!({
                "protocolVersion": version,
                "capabilities": {"tools": {"listChanged": false}},
                "serverInfo": {"name": "mcp-echo", "version": env!("CARGO_PKG_VERSION")}
            }))
        }
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({"tools": [echo_tool()]})),
        "tools/call" => {
            let name = params.get("name").and_then(Value::as_str).unwrap_or("");
            if name != "echo" {
                return Err((-32602, format!("unknown tool {name:?}")));
            }
            let args = params.get("arguments").cloned().unwrap_or(Value::Null);
            Ok(match echo(&args) {
                Ok(text) => json!({"content": [{"type": "text", "text": text}], "isError": false}),
                Err(e) => json!({"content": [{"type": "text", "text": e}], "isError": true}),
            })
        }
        "resources/list" => Ok(json!({"resources": []})),
        "prompts/list" => Ok(json!({"prompts": []})),
        other => Err((-32601, format!("method not found: {other}"))),
    }
}

/// The answer to one line: `None` for notifications and blank lines.
fn answer(line: &str) -> Option<Value> {
    let msg: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return Some(json!({"jsonrpc": "2.0", "id": null,
                "error": {"code": -32700, "message": format!("parse error: {e}")}}))
        }
    };
    let id = msg.get("id").cloned()?;
    let method = msg.get("method").and_then(Value::as_str).unwrap_or("");
    let params = msg.get("params").cloned().unwrap_or(Value::Null);
    Some(match handle(method, &params) {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err((code, message)) => json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
    })
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        if let Some(reply) = answer(&line) {
            if writeln!(out, "{reply}").and_then(|_| out.flush()).is_err() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initialize_list_and_call() {
        let init = answer(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#).unwrap();
        assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
        assert!(answer(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).is_none());
        let list = answer(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#).unwrap();
        assert_eq!(list["result"]["tools"][0]["name"], "echo");
        let call = answer(r#"{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#).unwrap();
        assert_eq!(call["id"], "c");
        assert!(call["result"]["content"][0]["text"].as_str().unwrap().ends_with("hi"));
        let bad = answer(r#"{"jsonrpc":"2.0","id":3,"method":"nope"}"#).unwrap();
        assert_eq!(bad["error"]["code"], -32601);
        let unknown = answer(r#"{"jsonrpc":"2.0","id":4,"method":"initialize","params":{"protocolVersion":"1999-01-01"}}"#).unwrap();
        assert_eq!(unknown["result"]["protocolVersion"], PROTOCOL_VERSION);
    }
}
