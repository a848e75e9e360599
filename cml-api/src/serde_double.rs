//! Doubles as protobuf's JSON mapping (and so CML's gRPC gateway and MLflow) writes them:
//! finite values as JSON numbers, `NaN`, `Infinity` and `-Infinity` as strings. Readers accept
//! either form and numbers in strings. Finite values round-trip bit-exactly (serde_json is built
//! with `float_roundtrip`; its default parser may be off by one unit in the last place).

use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

/// The JSON value protobuf's mapping gives a double.
pub fn to_json(value: f64) -> serde_json::Value {
    match special_name(value) {
        Some(name) => serde_json::Value::String(name.into()),
        None => serde_json::Value::from(value),
    }
}

/// Reads a double from a JSON number or string; `None` for anything else.
pub fn from_json(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => parse(s),
        _ => None,
    }
}

/// Parses a double as text: a number, or one of protobuf's names for the special values.
pub fn parse(text: &str) -> Option<f64> {
    match text.trim() {
        "NaN" | "nan" => Some(f64::NAN),
        "Infinity" | "inf" => Some(f64::INFINITY),
        "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok().filter(|v: &f64| v.is_finite()),
    }
}

fn special_name(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("NaN")
    } else if value == f64::INFINITY {
        Some("Infinity")
    } else if value == f64::NEG_INFINITY {
        Some("-Infinity")
    } else {
        None
    }
}

pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    match special_name(*value) {
        Some(name) => s.serialize_str(name),
        None => s.serialize_f64(*value),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    struct Double;
    impl Visitor<'_> for Double {
        type Value = f64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a double as a number, or as a string (\"NaN\", \"Infinity\", \"-Infinity\" or a number)")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            parse(v).ok_or_else(|| E::custom(format!("{v:?} is not a double")))
        }
        fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
            Ok(0.0)
        }
    }
    d.deserialize_any(Double)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug)]
    struct T {
        #[serde(with = "super")]
        v: f64,
    }

    /// Values that break naive parsing or printing: sums with representation error, the
    /// smallest subnormal, the largest finite, 17 significant digits, neighbours of 0.1.
    const HARD: &[f64] = &[
        0.1 + 0.2,
        5e-324,
        2.2250738585072014e-308,
        2.225073858507201e-308,
        1.7976931348623157e308,
        0.9222222222222223,
        0.9222222222222224,
        0.38566829194149443,
        0.23980378213491294,
        1.0000000000000002,
        123456789012345680.0,
        -0.0,
        0.0,
        1e23,
        9007199254740993.0,
    ];

    #[test]
    fn finite_doubles_round_trip_bit_exactly() {
        for &v in HARD {
            let text = serde_json::to_string(&T { v }).unwrap();
            let back: T = serde_json::from_str(&text).unwrap();
            assert_eq!(back.v.to_bits(), v.to_bits(), "{v:?} was written as {text} and read back as {:?}", back.v);
            assert_eq!(from_json(&to_json(v)).unwrap().to_bits(), v.to_bits(), "{v:?} through a Value");
            assert_eq!(parse(&format!("{v:?}")).unwrap().to_bits(), v.to_bits(), "{v:?} through text");
        }
    }

    #[test]
    fn many_doubles_round_trip_through_json_text() {
        // A fixed-seed xorshift walk over the bit patterns of doubles in [0.5, 1): the range of
        // accuracy and recall, where serde_json's fast parser used to be off by one ulp.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits((x >> 12) | 0x3FE0_0000_0000_0000);
            let value: serde_json::Value = serde_json::from_str(&format!("{v:?}")).unwrap();
            assert_eq!(value.as_f64().unwrap().to_bits(), v.to_bits(), "{v:?}");
        }
    }

    #[test]
    fn special_values_travel_as_protobuf_names() {
        assert_eq!(serde_json::to_string(&T { v: f64::NAN }).unwrap(), r#"{"v":"NaN"}"#);
        assert_eq!(serde_json::to_string(&T { v: f64::INFINITY }).unwrap(), r#"{"v":"Infinity"}"#);
        assert_eq!(serde_json::to_string(&T { v: f64::NEG_INFINITY }).unwrap(), r#"{"v":"-Infinity"}"#);
        assert!(serde_json::from_str::<T>(r#"{"v":"NaN"}"#).unwrap().v.is_nan());
        assert_eq!(serde_json::from_str::<T>(r#"{"v":"Infinity"}"#).unwrap().v, f64::INFINITY);
        assert_eq!(serde_json::from_str::<T>(r#"{"v":"-Infinity"}"#).unwrap().v, f64::NEG_INFINITY);
        assert_eq!(serde_json::from_str::<T>(r#"{"v":"0.5"}"#).unwrap().v, 0.5);
        assert_eq!(serde_json::from_str::<T>(r#"{"v":3}"#).unwrap().v, 3.0);
        assert!(serde_json::from_str::<T>(r#"{"v":"lots"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"v":"1e999"}"#).is_err(), "overflowing text is not silently infinite");
    }
}
