//! Small helpers for building JSON reports with `serde_json` (ordered objects, NaN as null).
use serde_json::{Map, Value};

/// An object from (key, value) pairs, keys in the given order.
pub fn obj<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect::<Map<String, Value>>(),
    )
}

/// A number; NaN and infinities become null (JSON has neither).
pub fn num(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}
