use super::*;
use serde_json::json;
use std::time::Duration;

fn field_of(b: JobSpecBuilder) -> String {
    b.build().unwrap_err().field().unwrap().to_string()
}

#[test]
fn bad_fields_are_named() {
    let p = || JobSpec::builder().prompt("hi");
    assert_eq!(field_of(JobSpec::builder().prompt("  ")), "prompt");
    assert_eq!(field_of(p().memory("lots")), "memory");
    assert_eq!(field_of(p().env("A=B", "x")), "env");
    assert_eq!(field_of(p().env("A\0", "x")), "env");
    assert_eq!(field_of(p().extra_args(["a\0b"])), "extra_args");
    assert_eq!(field_of(p().timeout(Duration::ZERO)), "timeout");
    assert_eq!(field_of(p().idle_timeout(Duration::ZERO)), "idle_timeout");
    assert_eq!(field_of(p().max_turns(0)), "max_turns");
}

#[test]
fn spec_round_trips_through_json() {
    let spec = JobSpec::builder()
        .prompt("hi")
        .timeout(Duration::from_millis(1500))
        .memory("64M")
        .build()
        .unwrap();
    let json = serde_json::to_string(&spec).unwrap();
    let back: JobSpec = serde_json::from_str(&json).unwrap();
    assert_eq!(spec, back);
}

use crate::wire::{from_value, from_value_spelled, Style};

fn spec(v: serde_json::Value, style: Style) -> crate::Result<JobSpec> {
    from_value(v, style)
}

fn field(v: serde_json::Value, style: Style) -> String {
    spec(v, style).unwrap_err().field().unwrap().to_string()
}

#[test]
fn snake_case_reads_seconds_and_sizes() {
    let s = spec(
        json!({"prompt": "hi", "timeout": 1.5, "idle_timeout": "2m", "memory": "64M",
               "cpus": 0.5, "pids": 64, "allowed_tools": ["Read"], "run_as": {"uid": 7, "gid": 8}}),
        Style::Snake,
    )
    .unwrap();
    assert_eq!(s.timeout, Some(Duration::from_millis(1500)));
    assert_eq!(s.idle_timeout, Some(Duration::from_secs(120)));
    assert_eq!(s.memory, Some(64 << 20));
    assert_eq!(s.allowed_tools, ["Read"]);
    assert_eq!(s.run_as, Some(RunAs { uid: 7, gid: 8 }));
}

#[test]
fn camel_case_reads_milliseconds_under_ms_keys() {
    let s = spec(
        json!({"prompt": "hi", "timeoutMs": 1500.0, "maxTurns": 3.0, "allowedTools": ["Read"],
               "runAs": [7, 8], "memory": 67108864.0, "dependsOn": ["a"]}),
        Style::Camel,
    )
    .unwrap();
    assert_eq!(s.timeout, Some(Duration::from_millis(1500)));
    assert_eq!(s.max_turns, Some(3));
    assert_eq!(s.run_as, Some(RunAs { uid: 7, gid: 8 }));
    assert_eq!(s.memory, Some(64 << 20));
    assert_eq!(s.depends_on, ["a"]);
}

#[test]
fn free_form_maps_keep_their_keys() {
    let s = spec(
        json!({"prompt": "hi", "env": {"MY_VAR": "1", "camelKey": "2"},
               "variables": {"brandName": "ACME", "year": 2026}, "labels": {"a_b": "c"}}),
        Style::Camel,
    )
    .unwrap();
    assert_eq!(s.env["MY_VAR"], "1");
    assert_eq!(s.env["camelKey"], "2");
    assert_eq!(s.variables["brandName"], "ACME");
    assert_eq!(s.variables["year"], "2026");
    assert_eq!(s.labels["a_b"], "c");
}

#[test]
fn unknown_and_misspelt_keys_are_named() {
    assert_eq!(field(json!({"prompt": "hi", "maxTurn": 3}), Style::Camel), "maxTurn");
    assert_eq!(field(json!({"prompt": "hi", "allowed_tools": []}), Style::Camel), "allowed_tools");
    assert_eq!(field(json!({"prompt": "hi", "allowedTools": []}), Style::Snake), "allowedTools");
    assert_eq!(field(json!({"prompt": "hi", "maxTurnsMs": 3}), Style::Camel), "maxTurnsMs");
    assert_eq!(field(json!({"prompt": "hi", "runAs": {"uid": 1, "gidd": 2}}), Style::Camel), "runAs.gidd");
    let e = spec(json!({"prompt": "hi", "cpu": 1}), Style::Snake).unwrap_err();
    assert!(e.to_string().contains("expected one of"), "{e}");
}

#[test]
fn bad_values_name_their_field() {
    assert_eq!(field(json!({"prompt": "hi", "timeout": 5}), Style::Camel), "timeout");
    assert_eq!(field(json!({"prompt": "hi", "timeoutMs": -1}), Style::Camel), "timeoutMs");
    assert_eq!(field(json!({"prompt": "hi", "timeout": 1e19}), Style::Snake), "timeout");
    assert_eq!(field(json!({"prompt": "hi", "idle_timeout": "soon"}), Style::Snake), "idle_timeout");
    assert_eq!(field(json!({"prompt": "hi", "maxTurns": 1.5}), Style::Camel), "maxTurns");
    assert_eq!(field(json!({"prompt": "hi", "memory": "lots"}), Style::Camel), "memory");
    assert_eq!(field(json!({"prompt": "hi", "pids": -3}), Style::Snake), "pids");
    assert_eq!(field(json!({"prompt": "hi", "runAs": {"uid": 1}}), Style::Camel), "runAs");
    assert_eq!(field(json!({"prompt": 5}), Style::Snake), "prompt");
    assert_eq!(field(json!({"prompt": "a", "timeout": 5, "timeoutMs": 5}), Style::Camel), "timeoutMs");
    assert_eq!(field(json!(["x"]), Style::Snake), "value");
}

#[test]
fn later_errors_keep_the_callers_spelling() {
    let (s, spelled) = from_value_spelled::<JobSpec>(
        json!({"prompt": "hi", "idleTimeoutMs": 0, "maxBudgetUsd": 1}),
        Style::Camel,
    )
    .unwrap();
    let e = spelled.error(s.validate().unwrap_err());
    assert_eq!(e.field(), Some("idleTimeoutMs"));
    assert_eq!(spelled.of("working_dir"), "workingDir");
    assert_eq!(Style::Camel.spell("default_limits.cpus"), "defaultLimits.cpus");
}


#[test]
fn agent_options_read_in_both_styles() {
    let snake = spec(
        json!({"prompt": "hi", "resume": "job-a", "fork_session": true, "json_schema": {"type": "object"},
               "permission_mode": "acceptEdits", "disallowed_tools": ["Bash(rm *)"], "system_prompt": "S",
               "append_system_prompt": "A", "mcp_servers": {"echo": {"command": "x", "env": {"camelKey": "v"}}},
               "add_dirs": ["/tmp"], "settings": {"someKey": 1}, "setting_sources": ["user", "local"],
               "fallback_model": "f", "effort": "xhigh"}),
        Style::Snake,
    )
    .unwrap();
    let camel = spec(
        json!({"prompt": "hi", "resume": "job-a", "forkSession": true, "jsonSchema": {"type": "object"},
               "permissionMode": "acceptEdits", "disallowedTools": ["Bash(rm *)"], "systemPrompt": "S",
               "appendSystemPrompt": "A", "mcpServers": {"echo": {"command": "x", "env": {"camelKey": "v"}}},
               "addDirs": ["/tmp"], "settings": {"someKey": 1}, "settingSources": ["user", "local"],
               "fallbackModel": "f", "effort": "xhigh"}),
        Style::Camel,
    )
    .unwrap();
    assert_eq!(snake, camel);
    assert_eq!(snake.permission_mode, Some(PermissionMode::AcceptEdits));
    assert_eq!(snake.effort, Some(Effort::Xhigh));
    assert_eq!(snake.setting_sources, Some(vec![SettingSource::User, SettingSource::Local]));
    assert_eq!(snake.mcp_servers.as_ref().unwrap()["echo"]["env"]["camelKey"], "v", "free-form keys kept");
    assert_eq!(snake.settings.as_ref().unwrap()["someKey"], 1);
    assert_eq!(snake.mcp_secrets(), ["v"]);
    // The store's plain serde round-trip.
    let back: JobSpec = serde_json::from_str(&serde_json::to_string(&snake).unwrap()).unwrap();
    assert_eq!(back, snake);
    assert_eq!(field(json!({"prompt": "hi", "permissionMode": "yolo"}), Style::Camel), "permissionMode");
    let (bad, spelled) = from_value_spelled::<JobSpec>(json!({"prompt": "hi", "mcpServers": {"x": 1}}), Style::Camel).unwrap();
    assert_eq!(spelled.error(bad.validate().unwrap_err()).field(), Some("mcpServers"));
    assert_eq!(field(json!({"prompt": "hi", "jsonSchema": true}), Style::Camel), "jsonSchema");
}

#[test]
fn a_resumed_spec_inherits_what_it_leaves_unset() {
    let earlier = JobSpec::builder()
        .prompt("a")
        .model("m-a")
        .allowed_tools(["Read"])
        .disallowed_tools(["Bash"])
        .system_prompt("S")
        .append_system_prompt("A")
        .mcp_server("echo", json!({"command": "x"}))
        .settings(json!({"k": 1}))
        .setting_sources([])
        .add_dir("/tmp")
        .effort(Effort::Low)
        .fallback_model("f")
        .permission_mode(PermissionMode::Plan)
        .max_turns(3)
        .max_budget_usd(2.0)
        .cpus(0.5)
        .memory("300M")
        .pids(50)
        .run_as(7, 8)
        .json_schema(json!({"type": "object"}))
        .env("K", "v")
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut mine = JobSpec::builder().prompt("b").resume("a").model("m-b").allowed_tools(["Write"]).build().unwrap();
    mine.inherit_from(&earlier);
    assert_eq!(mine.model.as_deref(), Some("m-b"), "its own value wins");
    assert_eq!(mine.allowed_tools, ["Write"]);
    assert_eq!(mine.disallowed_tools, ["Bash"]);
    assert_eq!((mine.system_prompt.as_deref(), mine.append_system_prompt.as_deref()), (Some("S"), Some("A")));
    assert!(mine.mcp_servers.is_some() && mine.settings.is_some());
    assert_eq!(mine.setting_sources, Some(vec![]));
    assert_eq!(mine.add_dirs, [std::path::PathBuf::from("/tmp")]);
    assert_eq!((mine.effort, mine.fallback_model.as_deref()), (Some(Effort::Low), Some("f")));
    assert_eq!(mine.permission_mode, Some(PermissionMode::Plan));
    assert_eq!((mine.max_turns, mine.max_budget_usd), (Some(3), Some(2.0)));
    assert_eq!(mine.limits(), earlier.limits());
    assert_eq!(mine.run_as, Some(RunAs { uid: 7, gid: 8 }));
    assert_eq!(mine.json_schema, None, "a schema belongs to one answer");
    assert!(mine.env.is_empty() && mine.timeout.is_none(), "not agent options");
    assert_eq!(mine.prompt, "b");
}
