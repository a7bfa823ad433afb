//! A decoded structure as ordered, named values: what the JSON Lines printer, the human printers
//! and (later) the browser all render, so that every view of a structure says the same thing.

use base64::Engine as _;
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::borrow::Cow;

/// One decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    U64(u64),
    I64(i64),
    Bool(bool),
    /// Text we produced (names of constants, formatted flags).
    Str(Cow<'a, str>),
    /// Bytes from disk that are meant as text (file names, labels): emitted as a string when they
    /// are UTF-8, else as `{"bytes": base64}`; never lossily.
    Name(Cow<'a, [u8]>),
    /// Opaque bytes (checksums, inline data): `{"bytes": base64}` in JSON.
    Bytes(Cow<'a, [u8]>),
    /// A nested structure.
    Record(Record<'a>),
    /// A list of values.
    List(Vec<Value<'a>>),
}

/// An ordered list of named values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record<'a> {
    pub fields: Vec<(&'static str, Value<'a>)>,
}

impl<'a> Record<'a> {
    /// An empty record.
    pub fn new() -> Self {
        Record { fields: Vec::new() }
    }

    /// An empty record with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Record { fields: Vec::with_capacity(n) }
    }

    /// Appends a field.
    pub fn push(&mut self, name: &'static str, value: impl Into<Value<'a>>) -> &mut Self {
        self.fields.push((name, value.into()));
        self
    }

    /// The value of the first field called `name`.
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The unsigned value of field `name`, if it is one.
    pub fn u64(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            Value::U64(v) => Some(*v),
            _ => None,
        }
    }
}

macro_rules! from_int {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Value<'_> {
            fn from(x: $t) -> Self { Value::$v(x.into()) }
        }
    )*};
}
from_int!(u8 => U64, u16 => U64, u32 => U64, u64 => U64, i8 => I64, i16 => I64, i32 => I64, i64 => I64);

impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<&'static str> for Value<'_> {
    fn from(s: &'static str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }
}
impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value::Str(Cow::Owned(s))
    }
}
/// A path the user gave, as bytes meant as text (not UTF-8 on every system).
impl From<&std::path::Path> for Value<'_> {
    fn from(p: &std::path::Path) -> Self {
        Value::Name(std::borrow::Cow::Owned(p.as_os_str().as_encoded_bytes().to_vec()))
    }
}

impl<'a> From<Record<'a>> for Value<'a> {
    fn from(r: Record<'a>) -> Self {
        Value::Record(r)
    }
}
impl<'a> From<Vec<Value<'a>>> for Value<'a> {
    fn from(v: Vec<Value<'a>>) -> Self {
        Value::List(v)
    }
}

/// Serializes bytes as `{"bytes": "<base64>"}`.
struct B64<'b>(&'b [u8]);

impl Serialize for B64<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("bytes", &base64::engine::general_purpose::STANDARD.encode(self.0))?;
        m.end()
    }
}

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::U64(v) => s.serialize_u64(*v),
            Value::I64(v) => s.serialize_i64(*v),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Str(t) => s.serialize_str(t),
            Value::Name(b) => match std::str::from_utf8(b) {
                Ok(t) => s.serialize_str(t),
                Err(_) => B64(b).serialize(s),
            },
            Value::Bytes(b) => B64(b).serialize(s),
            Value::Record(r) => r.serialize(s),
            Value::List(l) => l.serialize(s),
        }
    }
}

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.fields.len()))?;
        for (k, v) in &self.fields {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_names_become_base64() {
        let mut r = Record::new();
        r.push("type", "item").push("name", Value::Name(Cow::Borrowed(b"a\xffb"))).push("n", 18446744073709551615u64);
        let j = serde_json::to_string(&r).unwrap();
        assert_eq!(j, r#"{"type":"item","name":{"bytes":"Yf9i"},"n":18446744073709551615}"#);
    }
}

/// Splits seconds since the epoch into UTC (year, month, day, hour, minute, second), proleptic
/// Gregorian calendar (Howard Hinnant's days-from-civil inverse), for printing on-disk times the
/// way the reference tools do without depending on the local time zone.
pub fn civil_time(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, (rem / 3600) as u32, (rem % 3600 / 60) as u32, (rem % 60) as u32)
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn civil_time_matches_known_dates() {
        assert_eq!(super::civil_time(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(super::civil_time(1_795_251_593), (2026, 11, 21, 8, 59, 53));
        assert_eq!(super::civil_time(-1), (1969, 12, 31, 23, 59, 59));
    }
}
