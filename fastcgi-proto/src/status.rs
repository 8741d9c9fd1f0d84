//! The result of a parse that may need more input.

use core::num::NonZeroUsize;

/// The result of parsing a possibly incomplete buffer. Incomplete input is
/// not an error.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// Parsed.
    Complete(T),
    /// More bytes are needed; `needed` is how many more at least, when known.
    Incomplete {
        /// Lower bound on the missing bytes.
        needed: Option<NonZeroUsize>,
    },
}

impl<T> Status<T> {
    pub(crate) fn incomplete(n: usize) -> Self {
        Self::Incomplete {
            needed: NonZeroUsize::new(n),
        }
    }

    /// Whether this is [`Status::Complete`].
    pub const fn is_complete(&self) -> bool {
        matches!(self, Self::Complete(_))
    }

    /// Whether this is [`Status::Incomplete`].
    pub const fn is_incomplete(&self) -> bool {
        matches!(self, Self::Incomplete { .. })
    }

    /// The parsed value, if complete.
    pub fn complete(self) -> Option<T> {
        match self {
            Self::Complete(t) => Some(t),
            Self::Incomplete { .. } => None,
        }
    }

    /// Maps the complete value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Status<U> {
        match self {
            Self::Complete(t) => Status::Complete(f(t)),
            Self::Incomplete { needed } => Status::Incomplete { needed },
        }
    }
}
