//! A sample value for a JSON Schema: what the mock passes to the CLI's
//! `StructuredOutput` tool when the prompt gives no `mock-structured-output:`.

use serde_json::{json, Map, Value};

/// A value that satisfies simple schemas (objects with typed properties,
/// arrays, enums, consts, `anyOf`/`oneOf` by their first branch). Strings
/// are `"sample <name>"` after the property that holds them.
pub fn sample(schema: &Value) -> Value {
    sample_named(schema, "text", 0)
}

fn sample_named(schema: &Value, name: &str, depth: usize) -> Value {
    if depth > 16 {
        return Value::Null;
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(first) = schema.get(key).and_then(Value::as_array).and_then(|b| b.first()) {
            return sample_named(first, name, depth + 1);
        }
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    };
    match ty {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, v) in props {
                    out.insert(k.clone(), sample_named(v, k, depth + 1));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let item = schema.get("items").map(|i| sample_named(i, name, depth + 1)).unwrap_or(json!("sample"));
            let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(1).max(1);
            Value::Array(vec![item; min.min(8) as usize])
        }
        "integer" => json!(schema.get("minimum").and_then(Value::as_i64).unwrap_or(1).max(1)),
        "number" => json!(schema.get("minimum").and_then(Value::as_f64).unwrap_or(1.5).max(1.5)),
        "boolean" => json!(true),
        "null" => Value::Null,
        _ => json!(format!("sample {name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_follow_the_schema() {
        let schema = json!({"type": "object", "properties": {
            "name": {"type": "string"}, "n": {"type": "integer"}, "ok": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "kind": {"enum": ["a", "b"]}, "score": {"type": ["number", "null"]},
            "inner": {"type": "object", "properties": {"x": {"const": 3}}}
        }, "required": ["name"]});
        assert_eq!(
            sample(&schema),
            json!({"name": "sample name", "n": 1, "ok": true, "tags": ["sample tags"],
                   "kind": "a", "score": 1.5, "inner": {"x": 3}})
        );
        assert_eq!(sample(&json!({})), json!("sample text"));
    }
}
