//! The error a guest returns on purpose.

use std::fmt;

use crate::bindings::wasm_lambda::guest::types;

/// An error a guest hook returns to the host.
///
/// Every `std::error::Error` converts into it with `?` (kind `Error`); use
/// [`Error::new`] to choose the kind callers see.
///
/// ```
/// use wasm_lambda_sdk::Error;
///
/// fn parse(quantity: &str) -> Result<u32, Error> {
///     let n: u32 = quantity.parse()?; // kind "Error"
///     if n == 0 {
///         return Err(Error::new("ValidationError", "quantity must be positive"));
///     }
///     Ok(n)
/// }
/// assert_eq!(parse("0").unwrap_err().kind(), "ValidationError");
/// assert_eq!(parse("x").unwrap_err().kind(), "Error");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: String,
    message: String,
}

impl Error {
    /// An error of the given kind (a short machine-readable name such as
    /// `ValidationError`) with a human-readable message.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
        }
    }

    /// An error of kind `Error` with the given message.
    pub fn msg(message: impl Into<String>) -> Self {
        Self::new("Error", message)
    }

    /// The machine-readable kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn into_wit(self) -> types::GuestError {
        types::GuestError {
            kind: self.kind,
            message: self.message,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(error: E) -> Self {
        Self::msg(error.to_string())
    }
}
