//! Reading what Graph clients send: enum values in any case, `@odata.type` with or without its
//! `#` and namespace, and whole bodies field by field so that every broken rule is reported at
//! once under its own path.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::invalid::Invalid;

/// Declares an enum Graph writes in camelCase and clients send in any case (`userAdd`,
/// `UserAdd`): serialized as Graph writes it, read case-insensitively; an unknown value is an
/// error that lists the accepted ones.
macro_rules! graph_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Case-insensitive, as Graph clients send either case.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).ok_or_else(|| {
                    let all: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    serde::de::Error::custom(format!(
                        "'{text}' is not one of {}", all.join(", ")
                    ))
                })
            }
        }
    };
}

pub(crate) use graph_enum;

/// `#microsoft.graph.singleUser`, `microsoft.graph.singleUser` and `singleUser` all name
/// `singleUser`; compared case-insensitively by the callers.
pub fn odata_type(v: &Value) -> Option<&str> {
    let t = v.get("@odata.type")?.as_str()?;
    let t = t.strip_prefix('#').unwrap_or(t);
    Some(
        t.strip_prefix("microsoft.graph.")
            .or_else(|| t.strip_prefix("Microsoft.Graph."))
            .unwrap_or(t),
    )
}

/// A body's fields, read one at a time; each problem is collected under `prefix.field`.
pub struct Fields<'a> {
    obj: Option<&'a Map<String, Value>>,
    prefix: String,
    pub problems: Vec<Invalid>,
}

impl<'a> Fields<'a> {
    /// `body` must be an object (otherwise that is the one problem).
    pub fn of(body: &'a Value, prefix: &str) -> Self {
        let mut me = Self {
            obj: body.as_object(),
            prefix: prefix.to_string(),
            problems: Vec::new(),
        };
        if me.obj.is_none() {
            let at = if prefix.is_empty() { "body" } else { prefix };
            me.problems
                .push(Invalid::new("InvalidValue", at, "must be a JSON object"));
        }
        me
    }

    pub fn at(&self, field: &str) -> String {
        if self.prefix.is_empty() {
            field.to_string()
        } else {
            format!("{}.{field}", self.prefix)
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.obj.is_some_and(|o| o.contains_key(field))
    }

    pub fn raw(&self, field: &str) -> Option<&'a Value> {
        self.obj.and_then(|o| o.get(field))
    }

    /// The field read as `T`; None (with a problem) when it does not read, None (without one)
    /// when it is absent or null.
    pub fn opt<T: DeserializeOwned>(&mut self, field: &str) -> Option<T> {
        let v = self.raw(field).filter(|v| !v.is_null())?;
        match serde_json::from_value(v.clone()) {
            Ok(t) => Some(t),
            Err(e) => {
                self.problems
                    .push(Invalid::new("InvalidValue", self.at(field), e.to_string()));
                None
            }
        }
    }

    /// A field that must be present and not null.
    pub fn required<T: DeserializeOwned>(&mut self, field: &str) -> Option<T> {
        if self.raw(field).is_none_or(Value::is_null) {
            self.problems
                .push(Invalid::new("MissingField", self.at(field), "is required"));
            return None;
        }
        self.opt(field)
    }

    /// Every key not in `known` and not an annotation (`@odata.type`, `x@odata.bind`) is a
    /// problem: a misspelt setting must not be silently dropped.
    pub fn only(&mut self, known: &[&str]) {
        let Some(obj) = self.obj else { return };
        for key in obj.keys() {
            if !key.contains('@') && !known.contains(&key.as_str()) {
                self.problems.push(Invalid::new(
                    "UnknownProperty",
                    self.at(key),
                    "is not a property of this object",
                ));
            }
        }
    }

    pub fn push(&mut self, code: &'static str, field: &str, message: impl Into<String>) {
        let at = self.at(field);
        self.problems.push(Invalid::new(code, at, message));
    }
}

/// A display name: 1 to 256 characters, not only white space, no control characters.
pub fn check_display_name(name: &str, at: &str, problems: &mut Vec<Invalid>) {
    if name.trim().is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        problems.push(Invalid::new(
            "InvalidDisplayName",
            at,
            "must be 1 to 256 characters, not only white space, without control characters",
        ));
    }
}

/// A description: at most 1024 characters.
pub fn check_description(text: &str, at: &str, problems: &mut Vec<Invalid>) {
    if text.chars().count() > 1024 {
        problems.push(Invalid::new(
            "InvalidDescription",
            at,
            "must be at most 1024 characters",
        ));
    }
}

/// An ISO 8601 duration field, strictly parsed (`duration::parse_duration`), that must be
/// more than zero and at most `max`.
pub fn duration(f: &mut Fields, field: &str, max: chrono::TimeDelta) -> Option<chrono::TimeDelta> {
    let text: String = f.opt(field)?;
    match crate::duration::parse_duration(&text) {
        Ok(d) if d > chrono::TimeDelta::zero() && d <= max => Some(d),
        Ok(_) => {
            f.push(
                "InvalidDuration",
                field,
                format!(
                    "must be more than zero and at most {}",
                    crate::duration::format_duration(max)
                ),
            );
            None
        }
        Err(e) => {
            f.push("InvalidDuration", field, e.to_string());
            None
        }
    }
}

impl<'a> Fields<'a> {
    /// A nested object's fields (absent or null: None), read under `prefix.field`.
    pub fn sub(&mut self, field: &str) -> Option<Fields<'a>> {
        let v = self.raw(field).filter(|v| !v.is_null())?;
        Some(Fields::of(v, &self.at(field)))
    }

    /// Takes the problems a nested reader found.
    pub fn absorb(&mut self, nested: Fields) {
        self.problems.extend(nested.problems);
    }

    /// A list field read element by element, each problem under `field[i]` (absent or null:
    /// empty).
    pub fn list<T: DeserializeOwned>(&mut self, field: &str) -> Vec<T> {
        let Some(v) = self.raw(field).filter(|v| !v.is_null()) else {
            return Vec::new();
        };
        let Some(items) = v.as_array() else {
            self.push("InvalidValue", field, "must be a list");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match serde_json::from_value(item.clone()) {
                Ok(t) => out.push(t),
                Err(e) => {
                    let at = format!("{}[{i}]", self.at(field));
                    self.problems
                        .push(Invalid::new("InvalidValue", at, e.to_string()));
                }
            }
        }
        out
    }

    /// The elements of a list field as raw values (absent or null: empty).
    pub fn items(&mut self, field: &str) -> Vec<&'a Value> {
        match self.raw(field) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().collect(),
            Some(_) => {
                self.push("InvalidValue", field, "must be a list");
                Vec::new()
            }
        }
    }
}

impl Fields<'_> {
    /// Was a problem already reported under `field` (so the same mistake is not reported twice)?
    pub fn has_problem_under(&self, field: &str) -> bool {
        let at = self.at(field);
        self.problems.iter().any(|p| p.target.starts_with(&at))
    }
}
