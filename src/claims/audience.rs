//! [`Audience`]: the `aud` claim, one audience or several.

use std::fmt;

use compact_str::CompactString;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// The `aud` claim: one audience or several.
///
/// ```
/// use tower_sliding_jwt::Audience;
///
/// let aud: Audience = serde_json::from_str(r#"["api", "admin"]"#)?;
/// assert!(aud.contains("admin"));
/// assert!(!aud.contains("billing"));
/// assert_eq!(aud.iter().collect::<Vec<_>>(), ["api", "admin"]);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience(Repr);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Repr {
    /// `"aud": "api"`.
    One(CompactString),
    /// `"aud": ["api", "admin"]`.
    Many(Vec<CompactString>),
}

impl Audience {
    /// Whether `audience` is among them.
    ///
    /// ```
    /// use tower_sliding_jwt::Audience;
    ///
    /// let aud: Audience = serde_json::from_str(r#""api""#)?;
    /// assert!(aud.contains("api"));
    /// assert!(!aud.contains("API"), "compared exactly");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn contains(&self, audience: &str) -> bool {
        self.iter().any(|a| a == audience)
    }

    /// Every audience.
    ///
    /// ```
    /// use tower_sliding_jwt::Audience;
    ///
    /// let aud: Audience = serde_json::from_str(r#"["api", "admin"]"#)?;
    /// assert_eq!(aud.iter().collect::<Vec<_>>(), ["api", "admin"]);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many): (Option<&CompactString>, &[CompactString]) = match &self.0 {
            Repr::One(a) => (Some(a), &[]),
            Repr::Many(list) => (None, list),
        };
        one.into_iter().chain(many).map(CompactString::as_str)
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::One(a) => serializer.serialize_str(a),
            Repr::Many(list) => {
                let mut seq = serializer.serialize_seq(Some(list.len()))?;
                for a in list {
                    seq.serialize_element(a)?;
                }
                seq.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudienceVisitor;
        impl<'de> Visitor<'de> for AudienceVisitor {
            type Value = Audience;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience, E> {
                Ok(Audience(Repr::One(CompactString::from(v))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
                while let Some(a) = seq.next_element::<CompactString>()? {
                    list.push(a);
                }
                Ok(Audience(Repr::Many(list)))
            }
        }
        deserializer.deserialize_any(AudienceVisitor)
    }
}
