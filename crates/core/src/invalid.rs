//! Validation failures of client input, each with a stable code and the field it concerns.
//! The HTTP layer turns them into 400 answers; nothing here knows about HTTP.

/// One broken rule: a stable machine-readable `code` and the `target` field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub target: String,
    pub message: String,
}

impl Invalid {
    pub fn new(code: &'static str, target: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            target: target.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.target, self.message)
    }
}
