//! Compact JSON for the memory store: a spec or an info kept as only the
//! fields that differ from a fresh job's, a few hundred bytes instead of
//! the ~1 KB structs and their maps.

use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::spec::JobSpec;
use crate::state::JobInfo;

/// What [`pack`] leaves out: a field equal to the one of `base`.
pub(crate) trait Baseline: Serialize + DeserializeOwned {
    fn base() -> &'static Value;
}

impl Baseline for JobSpec {
    fn base() -> &'static Value {
        static BASE: OnceLock<Value> = OnceLock::new();
        BASE.get_or_init(|| to_value(&JobSpec::default()))
    }
}

impl Baseline for JobInfo {
    fn base() -> &'static Value {
        static BASE: OnceLock<Value> = OnceLock::new();
        BASE.get_or_init(|| to_value(&JobInfo::queued(String::new(), &JobSpec::default(), 0)))
    }
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("specs and infos serialize")
}

/// `v` as JSON without the fields equal to the baseline's.
pub(crate) fn pack<T: Baseline>(v: &T) -> Box<str> {
    let d = diff(T::base(), to_value(v)).unwrap_or(Value::Object(Map::new()));
    d.to_string().into_boxed_str()
}

/// The value [`pack`] packed.
pub(crate) fn unpack<T: Baseline>(s: &str) -> T {
    let d: Value = serde_json::from_str(s).expect("packed by `pack`");
    serde_json::from_value(merge(T::base(), d)).expect("packed by `pack`")
}

/// Struct objects (non-empty in the baseline) are compared field by field;
/// anything else (maps, which are empty in the baseline) is kept whole.
fn diff(base: &Value, v: Value) -> Option<Value> {
    if *base == v {
        return None;
    }
    match (base, v) {
        (Value::Object(b), Value::Object(o)) if !b.is_empty() => Some(Value::Object(
            o.into_iter()
                .filter_map(|(k, v)| match b.get(&k) {
                    Some(bv) => diff(bv, v).map(|d| (k, d)),
                    None => Some((k, v)),
                })
                .collect(),
        )),
        (_, v) => Some(v),
    }
}

fn merge(base: &Value, d: Value) -> Value {
    match (base, d) {
        (Value::Object(b), Value::Object(o)) if !b.is_empty() => {
            let mut out = b.clone();
            for (k, v) in o {
                let merged = match b.get(&k) {
                    Some(bv) => merge(bv, v),
                    None => v,
                };
                out.insert(k, merged);
            }
            Value::Object(out)
        }
        (_, d) => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{JobState, Usage};

    #[test]
    fn packing_keeps_every_field_and_leaves_out_the_defaults() {
        let spec = JobSpec::builder()
            .prompt("hello")
            .env("A", "1")
            .memory("1G")
            .label("team", "x")
            .build()
            .unwrap();
        let packed = pack(&spec);
        assert!(packed.len() < 120, "{packed}");
        assert_eq!(unpack::<JobSpec>(&packed), spec);
        let mut info = JobInfo::queued("an-id".into(), &spec, 7);
        assert_eq!(unpack::<JobInfo>(&pack(&info)), info);
        info.state = JobState::Succeeded;
        info.result = Some("ok".into());
        info.cost_usd = Some(0.125);
        info.usage = Some(Usage::default());
        info.stats.peak_memory_bytes = 42;
        info.labels.clear();
        assert_eq!(unpack::<JobInfo>(&pack(&info)), info);
        assert_eq!(&*pack(&JobSpec::default()), "{}");
    }
}
