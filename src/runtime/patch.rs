//! Three-state fields for update bodies.

/// A field of an update body: leave it as it is, clear it, or set it.
///
/// The generator uses this for the optional, nullable properties of schemas
/// marked `x-specbound-patch: true`, so an update sends only what the caller
/// touched: `Absent` is not serialised at all, `Null` is sent as `null`.
///
/// ```
/// use specbound::runtime::Patch;
/// let keep: Patch<String> = Patch::default();
/// let clear: Patch<String> = Patch::Null;
/// let set: Patch<String> = "new notes".into();
/// assert!(keep.is_absent());
/// assert_eq!(serde_json::to_string(&clear).unwrap(), "null");
/// assert_eq!(serde_json::to_string(&set).unwrap(), "\"new notes\"");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Leave the field unchanged (not sent).
    #[default]
    Absent,
    /// Clear the field (sent as `null`).
    Null,
    /// Set the field.
    Value(T),
}

impl<T> Patch<T> {
    /// True when the field is not sent.
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// The value, if one is set.
    pub fn as_value(&self) -> Option<&T> {
        match self {
            Patch::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<T> for Patch<T> {
    fn from(value: T) -> Self {
        Patch::Value(value)
    }
}

impl From<&str> for Patch<String> {
    fn from(value: &str) -> Self {
        Patch::Value(value.to_string())
    }
}

/// `None` leaves the field alone, as `Option` fields of other bodies do.
impl<T> From<Option<T>> for Patch<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Patch::Absent, Patch::Value)
    }
}

impl<T: serde::Serialize> serde::Serialize for Patch<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Value(v) => v.serialize(s),
            Patch::Absent | Patch::Null => s.serialize_none(),
        }
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Patch<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(d)?.map_or(Patch::Null, Patch::Value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Update {
        #[serde(default, skip_serializing_if = "Patch::is_absent")]
        notes: Patch<String>,
        #[serde(default, skip_serializing_if = "Patch::is_absent")]
        issue_uri: Patch<String>,
        #[serde(default, skip_serializing_if = "Patch::is_absent")]
        duration: Patch<u64>,
    }

    #[test]
    fn absent_is_not_sent_null_is_sent_as_null_value_is_sent() {
        let u = Update {
            notes: Patch::Null,
            issue_uri: Patch::Absent,
            duration: 60.into(),
        };
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            serde_json::json!({"notes": null, "duration": 60})
        );
    }

    #[test]
    fn decoding_keeps_the_three_states_apart() {
        let u: Update = serde_json::from_str(r#"{"notes":null,"duration":5}"#).unwrap();
        assert_eq!(u.notes, Patch::Null);
        assert_eq!(u.issue_uri, Patch::Absent);
        assert_eq!(u.duration, Patch::Value(5));
    }
}
