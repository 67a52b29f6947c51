//! JS objects ⇄ the core's serde types, in JavaScript's spelling.
//!
//! In: a plain object (arrived as a `serde_json::Value`) is read by the core
//! with [`claude_jobs::wire`] in [`Style::Camel`]: camelCase keys,
//! durations in milliseconds under `…Ms` keys; the core names unknown keys
//! and bad values as the caller spelled them. Nothing here knows a field.
//! (Non-finite numbers never get here: napi cannot turn them into JSON, so
//! `index.js` refuses them first, naming the field.)
//!
//! Out: [`to_js`] spells a core value's keys in camelCase, durations with
//! their `Ms` suffix.

use claude_jobs::wire::{from_value, from_value_spelled, Spelling, Style};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::errors::JsError;

/// Reads `T` from a JS object (`what` names it when it is not one); a key
/// set to `null` or `undefined` counts as not given.
pub(crate) fn read<T: DeserializeOwned>(value: Option<Value>, what: &str) -> Result<(T, Spelling), JsError> {
    let map = match value {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(mut map)) => {
            map.retain(|_, v| !v.is_null());
            map
        }
        Some(_) => return Err(JsError::invalid(what, "must be an object")),
    };
    from_value_spelled(Value::Object(map), Style::Camel).map_err(JsError::from)
}

/// A serializable core struct with its top-level keys in camelCase: each
/// duration (the core serializes milliseconds) gets the `Ms` suffix, as in
/// the input (`timeoutMs`), so `submit(job.spec())` submits the same job.
/// Nested values are as serialized (free-form maps keep their keys).
pub(crate) fn to_js<T: serde::Serialize + DeserializeOwned>(value: &T) -> Value {
    let Ok(Value::Object(map)) = serde_json::to_value(value) else { return Value::Null };
    let out = map
        .into_iter()
        .map(|(k, v)| {
            let key = Style::Camel.spell(&k);
            if is_duration::<T>(&key) {
                (format!("{key}Ms"), v)
            } else {
                (key, v)
            }
        })
        .collect();
    Value::Object(out)
}

/// Whether the camelCase field `key` of `T` is a duration: the core reads
/// a `…Ms` key for durations only.
fn is_duration<T: DeserializeOwned>(key: &str) -> bool {
    from_value::<T>(serde_json::json!({ format!("{key}Ms"): 1 }), Style::Camel).is_ok()
}

/// Every key of a core value spelled in camelCase, at every depth (for
/// values without free-form maps or durations, such as `ManagerStatus`).
pub(crate) fn camel_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (Style::Camel.spell(&k), camel_keys(v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use claude_jobs::{JobSpec, ManagerOptions};
    use serde_json::json;

    fn field<T: DeserializeOwned>(v: Value) -> String {
        read::<T>(Some(v), "value").map(|_| ()).unwrap_err().field.unwrap()
    }

    #[test]
    fn options_reach_the_core_as_given() {
        let (o, _) = read::<ManagerOptions>(
            Some(json!({"maxConcurrent": 2, "killGraceMs": 1500, "retention": {"outputsDays": 0},
                        "retryBackoff": {"baseMs": 100, "maxMs": 1000}, "defaultLimits": {"memory": "1G"},
                        "storeUrl": "memory", "nodeId": null})),
            "options",
        )
        .unwrap();
        // `outputsDays: 0` is kept as Some(0) (keep outputs), not dropped or deleted.
        assert_eq!(o.retention.outputs_days, Some(0));
        assert_eq!(o.kill_grace, std::time::Duration::from_millis(1500));
        assert_eq!(o.retry_backoff.base, std::time::Duration::from_millis(100));
        assert_eq!(o.default_limits.memory, Some(1 << 30));
        assert_eq!(o.store_url.as_deref(), Some("memory"));
    }

    #[test]
    fn unknown_and_bad_keys_are_named_as_spelled() {
        assert_eq!(field::<ManagerOptions>(json!({"claudeBinary": "x"})), "claudeBinary");
        assert_eq!(field::<ManagerOptions>(json!({"store": "memory"})), "store");
        assert_eq!(field::<ManagerOptions>(json!({"killGrace": 5})), "killGrace");
        assert_eq!(field::<ManagerOptions>(json!({"defaultLimits": {"disk": 1}})), "defaultLimits.disk");
        assert_eq!(field::<ManagerOptions>(json!({"retention": {"jobsDays": -1}})), "retention.jobsDays");
        assert_eq!(field::<JobSpec>(json!({"prompt": "hi", "maxTurn": 3})), "maxTurn");
        assert_eq!(field::<JobSpec>(json!({"prompt": "hi", "timeout": 5})), "timeout");
        assert_eq!(field::<JobSpec>(json!({"prompt": "hi", "maxTurns": 1.5})), "maxTurns");
        assert_eq!(field::<JobSpec>(json!({"prompt": "hi", "runAs": {"uid": 1}})), "runAs");
        assert_eq!(field::<JobSpec>(json!({"prompt": "hi", "env": {"MY_VAR": 1}})), "env.MY_VAR");
        assert_eq!(field::<JobSpec>(json!("text")), "value");
    }

    #[test]
    fn specs_go_back_in_the_input_spelling() {
        let (spec, _) = read::<JobSpec>(
            Some(json!({"prompt": "hi", "timeoutMs": 1500, "idleTimeoutMs": 800, "maxTurns": 3,
                        "env": {"MY_VAR": "1"}, "runAs": {"uid": 1, "gid": 2}, "memory": "512M"})),
            "spec",
        )
        .unwrap();
        let js = to_js(&spec);
        assert_eq!(js["timeoutMs"], 1500);
        assert_eq!(js["idleTimeoutMs"], 800);
        assert_eq!(js["maxTurns"], 3);
        assert_eq!(js["memory"], 512 << 20);
        assert_eq!(js["env"], json!({"MY_VAR": "1"}));
        assert!(js.get("timeout").is_none() && js.get("max_turns").is_none());
        let (again, _) = read::<JobSpec>(Some(js), "spec").unwrap();
        assert_eq!(again, spec);
    }
}
