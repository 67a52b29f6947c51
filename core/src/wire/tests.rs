//! The deserializer on a struct of its own: durations, sizes, a nested
//! struct, a free-form map (the spec's and the options' own tests are in
//! their modules).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::*;

#[derive(Debug, Deserialize, PartialEq, Default)]
#[serde(default)]
struct Pair {
    left: u32,
    right_side: u32,
}

#[derive(Debug, Deserialize, PartialEq, Default)]
#[serde(default)]
struct Sample {
    #[serde(with = "crate::units::opt_duration")]
    wait_time: Option<Duration>,
    #[serde(with = "crate::units::opt_size")]
    max_size: Option<u64>,
    pair: Option<Pair>,
    free_map: BTreeMap<String, String>,
    count: Option<u32>,
}

fn read(v: serde_json::Value, style: Style) -> Result<Sample> {
    from_value(v, style)
}

fn field(v: serde_json::Value, style: Style) -> String {
    read(v, style).unwrap_err().field().unwrap().to_string()
}

#[test]
fn each_style_has_its_names_and_units() {
    let snake = read(json!({"wait_time": 1.5, "max_size": "2K", "pair": {"right_side": 3}}), Style::Snake).unwrap();
    let camel = read(json!({"waitTimeMs": 1500, "maxSize": 2048.0, "pair": {"rightSide": 3.0}}), Style::Camel).unwrap();
    assert_eq!(snake, camel);
    assert_eq!(snake.wait_time, Some(Duration::from_millis(1500)));
    assert_eq!(read(json!({"wait_time": "2m"}), Style::Snake).unwrap().wait_time, Some(Duration::from_secs(120)));
    assert_eq!(read(json!({"pair": [1, 2]}), Style::Snake).unwrap().pair, Some(Pair { left: 1, right_side: 2 }));
}

#[test]
fn map_keys_are_left_alone() {
    let s = read(json!({"freeMap": {"MY_VAR": "1", "camelKey": "2"}}), Style::Camel).unwrap();
    assert_eq!(s.free_map.keys().collect::<Vec<_>>(), ["MY_VAR", "camelKey"]);
}

#[test]
fn errors_name_the_field_as_spelt() {
    assert_eq!(field(json!({"waitTime": 5}), Style::Camel), "waitTime");
    assert_eq!(field(json!({"waitTimeMs": -1}), Style::Camel), "waitTimeMs");
    assert_eq!(field(json!({"wait_time": 1e19}), Style::Snake), "wait_time");
    assert_eq!(field(json!({"countMs": 1}), Style::Camel), "countMs");
    assert_eq!(field(json!({"count": 1.5}), Style::Camel), "count");
    assert_eq!(field(json!({"pair": {"rightSide": 1, "other": 2}}), Style::Camel), "pair.other");
    assert_eq!(field(json!({"pair": {"rightSide": "x"}}), Style::Camel), "pair.rightSide");
    assert_eq!(field(json!({"waitTime": 1, "waitTimeMs": 1}), Style::Camel), "waitTimeMs");
    assert_eq!(field(json!({"max_size": "lots"}), Style::Snake), "max_size");
    assert_eq!(field(json!({"wait_time": 5}), Style::Camel), "wait_time");
    assert_eq!(field(json!(["x"]), Style::Snake), "value");
}

#[test]
fn names_convert_to_camel_case() {
    assert_eq!(camel("max_budget_usd"), "maxBudgetUsd");
    assert_eq!(Style::Camel.spell("default_limits.cpus"), "defaultLimits.cpus");
    assert_eq!(Style::Snake.spell("default_limits.cpus"), "default_limits.cpus");
}
