//! The units people write by hand: sizes (`"512M"`, `"1.5G"`) and durations
//! (`"30s"`, `"10m"`), their parsers, their bounds, and the serde helpers the
//! spec and the options use for them.

use std::time::Duration;

/// The name the duration helpers pass to `deserialize_newtype_struct`: how
/// the `wire` module tells a duration from a plain number.
pub(crate) const DURATION_TOKEN: &str = "$claude_jobs::Duration";

/// The longest duration any option or spec field accepts (30 days): longer
/// values are refused where they are given, never wrapped or left to panic.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Parses a byte size: a plain number of bytes, or a number with a binary unit
/// `K`, `M`, `G`, `T` (also `KB`/`KiB`, …; all powers of 1024). Fractions are
/// allowed: `"1.5G"`.
///
/// ```
/// assert_eq!(claude_jobs::parse_size("512M").unwrap(), 512 << 20);
/// assert_eq!(claude_jobs::parse_size("1.5G").unwrap(), 3 << 29);
/// assert!(claude_jobs::parse_size("lots").is_err());
/// ```
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("cannot parse {s:?} as a size (examples: 512M, 1.5G, 1048576)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {s:?} (use K, M, G or T)"
            ))
        }
    };
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("size {s:?} is too large"));
    }
    Ok(bytes.round() as u64)
}

/// Parses a duration such as `"30s"`, `"10m"`, `"1h 30m"`, `"250ms"`; a bare
/// number means seconds.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(claude_jobs::parse_duration("10m").unwrap(), Duration::from_secs(600));
/// assert_eq!(claude_jobs::parse_duration("2").unwrap(), Duration::from_secs(2));
/// ```
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let t = s.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 && secs <= MAX_DURATION.as_secs_f64() {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(format!("{s:?} is not a duration from 0 to 30 days"));
    }
    let d = humantime::parse_duration(t)
        .map_err(|e| format!("cannot parse {s:?} as a duration ({e}; examples: 30s, 10m, 1h)"))?;
    if d > MAX_DURATION {
        return Err(format!("{s:?} is longer than 30 days"));
    }
    Ok(d)
}

/// Checks a duration given in code against [`MAX_DURATION`] (and, with
/// `positive`, against zero); the error names `field`.
pub(crate) fn check_duration(field: &str, d: Duration, positive: bool) -> crate::Result<()> {
    if positive && d.is_zero() {
        return Err(crate::Error::invalid(field, "must be greater than zero"));
    }
    if d > MAX_DURATION {
        return Err(crate::Error::invalid(field, "must be at most 30 days"));
    }
    Ok(())
}

/// `Duration` fields: stored as whole milliseconds; read through
/// the `wire` module in the caller's unit, or from text such as `"10m"`.
pub mod duration {
    use std::fmt;
    use std::time::Duration;

    use serde::de::{self, Deserializer, Visitor};
    use serde::Serializer;

    /// Serializes as whole milliseconds.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis().min(u64::MAX as u128) as u64)
    }

    /// Reads milliseconds, or text such as `"10m"`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_newtype_struct(super::DURATION_TOKEN, Millis)
    }

    struct Millis;

    impl<'de> Visitor<'de> for Millis {
        type Value = Duration;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration (milliseconds, or text such as \"10m\")")
        }
        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Duration, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_u64<E: de::Error>(self, ms: u64) -> Result<Duration, E> {
            Ok(Duration::from_millis(ms))
        }
        fn visit_i64<E: de::Error>(self, ms: i64) -> Result<Duration, E> {
            u64::try_from(ms)
                .map(Duration::from_millis)
                .map_err(|_| E::custom("a duration must not be negative"))
        }
        fn visit_f64<E: de::Error>(self, ms: f64) -> Result<Duration, E> {
            if ms.is_finite() && ms >= 0.0 && ms <= super::MAX_DURATION.as_millis() as f64 {
                Ok(Duration::from_millis(ms.round() as u64))
            } else {
                Err(E::custom("a duration must be from 0 to 30 days"))
            }
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
            super::parse_duration(s).map_err(E::custom)
        }
    }
}

/// `Option<Duration>` fields, like [`duration`].
pub mod opt_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super::duration")] Duration);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }
}

/// `Option<u64>` byte sizes: a number of bytes or text such as `"512M"`.
pub mod opt_size {
    use std::fmt;

    use serde::de::{self, Deserializer, Visitor};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(b: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_u64(*b),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_option(OptSize)
    }

    struct OptSize;

    impl<'de> Visitor<'de> for OptSize {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a size (bytes, or text such as \"512M\")")
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_u64<E: de::Error>(self, b: u64) -> Result<Option<u64>, E> {
            Ok(Some(b))
        }
        fn visit_i64<E: de::Error>(self, b: i64) -> Result<Option<u64>, E> {
            u64::try_from(b)
                .map(Some)
                .map_err(|_| E::custom(format!("a size must not be negative, got {b}")))
        }
        fn visit_f64<E: de::Error>(self, b: f64) -> Result<Option<u64>, E> {
            if b.is_finite() && b >= 0.0 && b.fract() == 0.0 && b < u64::MAX as f64 {
                Ok(Some(b as u64))
            } else {
                Err(E::custom(format!("a size must be a whole number of bytes, got {b}")))
            }
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<u64>, E> {
            super::parse_size(s).map(Some).map_err(E::custom)
        }
    }
}

/// String maps whose values may be given as numbers or booleans too
/// (template variables): `{"year": 2026}` is `{"year": "2026"}`.
pub mod text_map {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Scalar {
            S(String),
            B(bool),
            U(u64),
            I(i64),
            F(f64),
        }
        let raw = BTreeMap::<String, Scalar>::deserialize(d)?;
        Ok(raw
            .into_iter()
            .map(|(k, v)| {
                let s = match v {
                    Scalar::S(s) => s,
                    Scalar::B(b) => b.to_string(),
                    Scalar::U(u) => u.to_string(),
                    Scalar::I(i) => i.to_string(),
                    Scalar::F(f) => f.to_string(),
                };
                (k, s)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M").unwrap(), 64 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("800MiB").unwrap(), 800 << 20);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("").is_err());
        assert!(parse_size("12X").is_err());
        assert!(parse_size("-5M").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn durations_are_bounded() {
        assert!(parse_duration("1e19").is_err());
        assert!(parse_duration("31d").is_err());
        assert_eq!(parse_duration("30d").unwrap(), MAX_DURATION);
        assert!(check_duration("timeout", Duration::from_secs(31 * 86400), true).is_err());
        assert_eq!(
            check_duration("timeout", Duration::ZERO, true).unwrap_err().field(),
            Some("timeout")
        );
    }
}
