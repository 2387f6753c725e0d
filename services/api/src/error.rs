//! Errors as clients see them: a stable `extensions.code` and a Polish message.

use async_graphql::ErrorExtensions;
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

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        to_gql(&e.domain())
    }
}

pub fn to_gql(d: &DomainError) -> async_graphql::Error {
    async_graphql::Error::new(d.to_string()).extend_with(|_, ext| {
        ext.set("code", d.code());
        if let Some(f) = d.field() {
            ext.set("field", f);
        }
        if let Some(secs) = d.retry_after() {
            ext.set("retryAfter", secs);
        }
    })
}

pub type ApiResult<T> = Result<T, ApiError>;
