//! The properties of a feature as kept in memory for the life of the server: compact, ordered,
//! with keys and string values shared between the features of a layer.
//!
//! A `serde_json::Map<String, Value>` per feature cost most of the resident memory of a loaded
//! service (issue 15): an index table and a 64-byte bucket per entry, one heap string per key
//! of every feature and one per value, although a layer repeats the same few keys and many
//! values (`community`, `grid`, `kind`, ...). Here a feature's properties are one boxed slice of
//! (key, value) pairs, 40 bytes each, keys and strings are `Arc<str>` interned per load
//! ([`Interner`]), and serialisation writes exactly what the map wrote (same order, same number
//! formatting), so responses and files are byte-for-byte unchanged.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

/// One property value: the JSON value kinds, with strings shared and containers boxed.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    Null,
    Bool(bool),
    /// serde_json's own number, so integers and floats print as they did.
    Number(Number),
    String(Arc<str>),
    Array(Box<[PropValue]>),
    Object(Props),
}

/// The properties of one feature, in file order.
#[derive(Clone, PartialEq, Default)]
pub struct Props(Box<[(Arc<str>, PropValue)]>);

/// Shares equal keys and strings while a layer is read: a layer of thousands of buildings
/// names the same community, grid and microgrid ids over and over.
#[derive(Debug, Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    #[must_use]
    pub fn new() -> Interner {
        Interner::default()
    }

    /// The shared copy of `s`.
    pub fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return Arc::clone(a);
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(Arc::clone(&a));
        a
    }

    /// Properties from a parsed JSON object, consuming it (as the layer reader makes them from
    /// the text: [`ObjectSeed`]).
    pub fn props(&mut self, m: Map<String, Value>) -> Props {
        // A `Value` always deserialises: its numbers are finite and its keys strings.
        ObjectSeed(self)
            .deserialize(Value::Object(m))
            .unwrap_or_default()
    }

    /// A property value from a parsed JSON value, consuming it.
    pub fn value(&mut self, v: Value) -> PropValue {
        ValueSeed(self).deserialize(v).unwrap_or(PropValue::Null)
    }
}

impl PropValue {
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PropValue::String(s) => Some(s),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            PropValue::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            PropValue::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PropValue::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            PropValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, PropValue::Null)
    }

    /// The value as a `serde_json::Value`, for callers that build JSON documents.
    #[must_use]
    pub fn to_value(&self) -> Value {
        match self {
            PropValue::Null => Value::Null,
            PropValue::Bool(b) => Value::Bool(*b),
            PropValue::Number(n) => Value::Number(n.clone()),
            PropValue::String(s) => Value::String(s.to_string()),
            PropValue::Array(a) => Value::Array(a.iter().map(PropValue::to_value).collect()),
            PropValue::Object(p) => Value::Object(p.to_map()),
        }
    }
}

impl From<Value> for PropValue {
    fn from(v: Value) -> PropValue {
        Interner::new().value(v)
    }
}

impl From<&str> for PropValue {
    fn from(s: &str) -> PropValue {
        PropValue::String(Arc::from(s))
    }
}

impl Props {
    /// The value of `key`, if the feature has it.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&PropValue> {
        self.0.iter().find(|(k, _)| &**k == key).map(|(_, v)| v)
    }

    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Set `key` (in place when present, else appended, as a map with insertion order does).
    pub fn insert(&mut self, key: &str, value: PropValue) {
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| &**k == key) {
            slot.1 = value;
            return;
        }
        let mut v = std::mem::take(&mut self.0).into_vec();
        v.push((Arc::from(key), value));
        self.0 = v.into_boxed_slice();
    }

    /// Remove `key`, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<PropValue> {
        let i = self.0.iter().position(|(k, _)| &**k == key)?;
        let mut v = std::mem::take(&mut self.0).into_vec();
        let (_, old) = v.remove(i);
        self.0 = v.into_boxed_slice();
        Some(old)
    }

    /// (key, value) pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PropValue)> {
        self.0.iter().map(|(k, v)| (&**k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The properties as a JSON object, for callers that add to or edit them.
    #[must_use]
    pub fn to_map(&self) -> Map<String, Value> {
        self.0
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_value()))
            .collect()
    }
}

impl<'a> IntoIterator for &'a Props {
    type Item = (&'a str, &'a PropValue);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Arc<str>, PropValue)>,
        fn(&'a (Arc<str>, PropValue)) -> (&'a str, &'a PropValue),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (&**k, v))
    }
}

/// `props["key"]`: the value, or null when absent (as indexing a `Value` reads).
impl std::ops::Index<&str> for Props {
    type Output = PropValue;

    fn index(&self, key: &str) -> &PropValue {
        static NULL: PropValue = PropValue::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

impl From<Map<String, Value>> for Props {
    fn from(m: Map<String, Value>) -> Props {
        Interner::new().props(m)
    }
}

impl From<&Props> for Value {
    fn from(p: &Props) -> Value {
        Value::Object(p.to_map())
    }
}

impl fmt::Debug for Props {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The value as JSON text, as `Value`'s `Display` writes it (messages quote values so).
impl fmt::Display for PropValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for PropValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PropValue::Null => s.serialize_unit(),
            PropValue::Bool(b) => s.serialize_bool(*b),
            PropValue::Number(n) => n.serialize(s),
            PropValue::String(v) => s.serialize_str(v),
            PropValue::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            PropValue::Object(p) => p.serialize(s),
        }
    }
}

impl Serialize for Props {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &*self.0 {
            map.serialize_entry(&**k, v)?;
        }
        map.end()
    }
}

/// A JSON object as [`Props`]: file order, and a key given twice keeps its first place and its
/// last value (what `serde_json::Map` with `preserve_order` did).
pub(crate) struct ObjectSeed<'i>(pub(crate) &'i mut Interner);

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Props;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Props, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Props;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Props, A::Error> {
        let mut pairs: Vec<(Arc<str>, PropValue)> = Vec::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let value = map.next_value_seed(ValueSeed(&mut *self.0))?;
            match pairs.iter_mut().find(|(k, _)| **k == *key) {
                Some(slot) => slot.1 = value,
                None => pairs.push((self.0.intern(&key), value)),
            }
        }
        // Exactly as long as the pairs: the grown vector's spare capacity would stay with
        // the feature for the life of the server.
        Ok(Props(pairs.drain(..).collect()))
    }
}

/// Any JSON value as a [`PropValue`], strings interned; numbers as `serde_json::Value` made
/// them, so they print as before.
struct ValueSeed<'i>(&'i mut Interner);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = PropValue;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<PropValue, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = PropValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<PropValue, E> {
        Ok(PropValue::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<PropValue, E> {
        Ok(PropValue::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<PropValue, E> {
        Ok(PropValue::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<PropValue, E> {
        Ok(Number::from_f64(v).map_or(PropValue::Null, PropValue::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<PropValue, E> {
        Ok(PropValue::String(self.0.intern(v)))
    }

    fn visit_none<E: de::Error>(self) -> Result<PropValue, E> {
        Ok(PropValue::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<PropValue, E> {
        Ok(PropValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<PropValue, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PropValue, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(ValueSeed(&mut *self.0))? {
            items.push(v);
        }
        Ok(PropValue::Array(items.drain(..).collect()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PropValue, A::Error> {
        ObjectSeed(self.0).visit_map(map).map(PropValue::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_as_the_map_it_came_from() {
        let v = json!({"z": 1, "a": -2, "f": 0.5, "big": 1e300, "s": "名", "n": null,
                       "b": true, "arr": [1, "x", [null]], "o": {"k": {"q": 2.0}}});
        let m = v.as_object().unwrap().clone();
        let p = Props::from(m.clone());
        assert_eq!(serde_json::to_string(&p).unwrap(), v.to_string());
        assert_eq!(Value::from(&p), v);
        assert_eq!(p.to_map(), m);
        assert_eq!(p.get("s").and_then(PropValue::as_str), Some("名"));
        assert_eq!(p.get("a").and_then(PropValue::as_i64), Some(-2));
        assert_eq!(p.get("z").and_then(PropValue::as_u64), Some(1));
        assert!(p.get("missing").is_none());
        assert_eq!(p.get("arr").unwrap().to_string(), r#"[1,"x",[null]]"#);
    }

    #[test]
    fn insert_replaces_in_place_or_appends() {
        let mut p = Props::from(json!({"a": 1, "b": 2}).as_object().unwrap().clone());
        p.insert("a", PropValue::from("x"));
        p.insert("c", PropValue::Bool(false));
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"a":"x","b":2,"c":false}"#
        );
    }

    #[test]
    fn interner_shares_equal_strings() {
        let mut i = Interner::new();
        let a = i.props(json!({"g": "G01"}).as_object().unwrap().clone());
        let b = i.props(json!({"g": "G01"}).as_object().unwrap().clone());
        let (PropValue::String(x), PropValue::String(y)) =
            (a.get("g").unwrap(), b.get("g").unwrap())
        else {
            panic!("strings expected");
        };
        assert!(Arc::ptr_eq(x, y));
    }
}
