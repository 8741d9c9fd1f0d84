//! The result of a parse that may need more input.

/// The result of parsing a possibly incomplete buffer. Incomplete input is
/// not an error.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status<T> {
    /// Parsed.
    Complete(T),
    /// More bytes are needed.
    Incomplete,
}

impl<T> Status<T> {
    /// Whether this is [`Status::Complete`].
    pub const fn is_complete(&self) -> bool {
        matches!(self, Self::Complete(_))
    }

    /// The parsed value, if complete.
    pub fn complete(self) -> Option<T> {
        match self {
            Self::Complete(t) => Some(t),
            Self::Incomplete => None,
        }
    }
}
