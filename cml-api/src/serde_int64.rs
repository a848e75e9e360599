//! int64 fields travel as JSON strings; accept numbers too when reading.

use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

pub fn serialize<S: Serializer>(value: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&value.to_string())
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct Int64;
    impl<'de> Visitor<'de> for Int64 {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an int64 as a string or a number")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(E::custom)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
            if v.fract() == 0.0 {
                Ok(v as i64)
            } else {
                Err(E::custom(format!("{v} is not an integer")))
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
            if v.is_empty() {
                return Ok(0);
            }
            v.parse().map_err(|_| E::custom(format!("{v:?} is not an int64")))
        }
        fn visit_unit<E: de::Error>(self) -> Result<i64, E> {
            Ok(0)
        }
    }
    d.deserialize_any(Int64)
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct T {
        #[serde(with = "super")]
        v: i64,
    }

    #[test]
    fn writes_strings_and_reads_strings_or_numbers() {
        assert_eq!(serde_json::to_string(&T { v: 42 }).unwrap(), r#"{"v":"42"}"#);
        assert_eq!(serde_json::from_str::<T>(r#"{"v":"42"}"#).unwrap(), T { v: 42 });
        assert_eq!(serde_json::from_str::<T>(r#"{"v":42}"#).unwrap(), T { v: 42 });
        assert_eq!(serde_json::from_str::<T>(r#"{"v":""}"#).unwrap(), T { v: 0 });
        assert!(serde_json::from_str::<T>(r#"{"v":"x"}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"v":1.5}"#).is_err());
    }
}
