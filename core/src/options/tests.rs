use std::time::Duration;

use serde_json::json;

use super::*;
use crate::wire::{from_value, Style};

fn field(v: serde_json::Value, style: Style) -> String {
    match from_value::<ManagerOptions>(v, style) {
        Ok(o) => o.validate().unwrap_err().field().unwrap().to_string(),
        Err(e) => e.field().unwrap().to_string(),
    }
}

#[test]
fn both_spellings_read_the_same_options() {
    let py: ManagerOptions = from_value(
        json!({"max_concurrent": 2, "kill_grace": 0.5, "retry_backoff": [1, 60],
               "retention": {"outputs_days": 0}, "templates_dir": "/t", "memory_budget": "8G"}),
        Style::Snake,
    )
    .unwrap();
    let js: ManagerOptions = from_value(
        json!({"maxConcurrent": 2.0, "killGraceMs": 500, "retryBackoff": {"baseMs": 1000, "maxMs": 60000},
               "retention": {"outputsDays": 0}, "templatesDir": ["/t"], "memoryBudget": 8589934592.0}),
        Style::Camel,
    )
    .unwrap();
    assert_eq!(py, js);
    assert_eq!(py.kill_grace, Duration::from_millis(500));
    assert_eq!(py.retention.outputs_days, Some(0));
    assert_eq!(py.memory_budget, MemoryBudget::Bytes(8 << 30));
    py.validate().unwrap();
}

#[test]
fn bad_options_are_named() {
    assert_eq!(field(json!({"maxConcurrent": 0}), Style::Camel), "max_concurrent");
    assert_eq!(field(json!({"maxConcurrent": "many"}), Style::Camel), "maxConcurrent");
    assert_eq!(field(json!({"maxConcurrent": null}), Style::Camel), "maxConcurrent");
    assert_eq!(field(json!({"isolation": "maybe"}), Style::Camel), "isolation");
    assert_eq!(field(json!({"defaultLimits": {"memory": "1K"}}), Style::Camel), "default_limits.memory");
    assert_eq!(field(json!({"lineCap": 10}), Style::Camel), "line_cap");
    assert_eq!(field(json!({"claudeBinary": "x"}), Style::Camel), "claudeBinary");
    assert_eq!(field(json!({"recovery": "retry"}), Style::Camel), "recovery");
    assert_eq!(field(json!({"retention": {"jobsDays": -1}}), Style::Camel), "retention.jobsDays");
    assert_eq!(field(json!({"memoryBudget": "lots"}), Style::Camel), "memoryBudget");
    assert_eq!(field(json!({"cpuBudget": 0}), Style::Camel), "cpu_budget");
    assert_eq!(field(json!({"heartbeat_interval": 120}), Style::Snake), "heartbeat_interval");
    assert_eq!(field(json!({"store_url": "bogus://x"}), Style::Snake), "store_url");
    assert_eq!(field(json!({"kill_grace": 1e19}), Style::Snake), "kill_grace");
    assert_eq!(field(json!({"retry_backoff": {"base": 0, "max": 1}}), Style::Snake), "retry_backoff.base");
}
