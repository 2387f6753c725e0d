//! The use cases' error: a domain error, or the store's, which clients see only as
//! `domain()` (the GraphQL face turns it into `extensions.code` and a Polish message).

use okienko_domain::DomainError;
use okienko_store::StoreError;

/// Not `Display` on purpose: it reaches clients only through `domain()`, which hides
/// store details behind `INTERNAL`.
#[derive(Debug)]
pub enum ApiError {
    Domain(DomainError),
    Store(StoreError),
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError::Domain(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

impl ApiError {
    pub fn domain(&self) -> DomainError {
        match self {
            ApiError::Domain(d) => d.clone(),
            ApiError::Store(StoreError::SlotFull) => DomainError::SlotFull,
            ApiError::Store(StoreError::NotFound) => DomainError::NotFound,
            ApiError::Store(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                DomainError::Unavailable
            }
            ApiError::Store(e) => {
                tracing::error!(error = %e, "store error");
                DomainError::Internal
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
