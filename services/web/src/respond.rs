//! Answers of the HTTP layer: errors in the GraphQL shape given before GraphQL runs, 429 and
//! 503 with `Retry-After`, and a GraphQL response with a stable code and a Polish message on
//! every error.

use async_graphql::Value;
use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use okienko_domain::{Code, DomainError};
use okienko_graphql::gql_errors;
use okienko_graphql::query_limits::{MAX_COMPLEXITY, MAX_DEPTH};
use serde_json::json;

use crate::rate_limit;

/// The `extensions.code`s an answer carries, for the metrics layer (`metrics_layer`), which
/// counts them on the GraphQL routes (`okienko_graphql_errors_total`). Codes outside the
/// product's list (a city script's own refusal codes) are `OTHER`: label values stay bounded.
#[derive(Debug, Clone, Default)]
pub struct ErrorCodes(pub Vec<&'static str>);

fn listed(code: &str) -> &'static str {
    Code::parse(code).map_or("OTHER", Code::as_str)
}

/// A JSON body in the GraphQL error shape, for answers given before GraphQL runs.
pub fn error_json(status: StatusCode, code: Code, message: &str) -> Response {
    let body =
        json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response();
    r.extensions_mut().insert(ErrorCodes(vec![code.as_str()]));
    r
}

/// An error met before GraphQL runs (authenticating the caller): 503 with `Retry-After` when
/// the database is unavailable, 500 otherwise.
pub fn failed_before_graphql(d: &DomainError) -> Response {
    let status = match d.retry_after() {
        Some(_) => StatusCode::SERVICE_UNAVAILABLE,
        None => StatusCode::INTERNAL_SERVER_ERROR,
    };
    with_retry_after(
        error_json(
            status,
            d.listed_code().unwrap_or(Code::Internal),
            &d.to_string(),
        ),
        d.retry_after(),
    )
}

pub fn with_retry_after(mut r: Response, secs: Option<u64>) -> Response {
    if let Some(secs) = secs {
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    r
}

/// 429 with `Retry-After` and the code `RATE_LIMITED`.
pub fn rate_limited(l: rate_limit::Limited) -> Response {
    let mut r = error_json(
        StatusCode::TOO_MANY_REQUESTS,
        Code::RateLimited,
        &l.message(),
    );
    r.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from(l.retry_after_secs()),
    );
    r
}

/// A successful GraphQL answer already serialised.
pub fn json_answer(body: Bytes) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

pub fn set_code(e: &mut async_graphql::ServerError, code: Code) {
    let mut ext = e.extensions.take().unwrap_or_default();
    ext.set("code", code.as_str());
    e.extensions = Some(ext);
}

/// Gives every error a stable code and a Polish message; 400 when the request itself was
/// invalid (nothing executed).
pub fn graphql_response(mut resp: async_graphql::Response) -> Response {
    let request_failed = resp.data == Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty());
    for e in &mut resp.errors {
        let has_code = e
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("code").is_some());
        // The complexity limit of every schema, in Polish with its own code (the depth limit
        // answers so itself: `query_limits`).
        // The parser's own nesting bound (far past the depth limit) is the same refusal.
        if !has_code && e.path.is_empty() && gql_errors::parser_too_deep(&e.message) {
            e.message = format!(
                "Zapytanie jest zagnieżdżone zbyt głęboko (najwyżej {} poziomów).",
                MAX_DEPTH
            );
            set_code(e, Code::QueryTooDeep);
            continue;
        }
        if !has_code && e.path.is_empty() && e.message == "Query is too complex." {
            e.message = format!(
                "Zapytanie jest zbyt złożone (najwyżej {} pól).",
                MAX_COMPLEXITY
            );
            set_code(e, Code::QueryTooComplex);
            continue;
        }
        if !has_code {
            if let Some(polish) = gql_errors::input_value(&e.message) {
                e.message = polish;
                set_code(e, Code::BadUserInput);
                continue;
            }
            let (code, prefix) = if e.path.is_empty() {
                (Code::InvalidQuery, "Niepoprawne zapytanie GraphQL")
            } else {
                (Code::BadUserInput, "Niepoprawne dane wejściowe")
            };
            e.message = format!("{prefix}: {}", e.message);
            set_code(e, code);
        }
    }
    // A refusal by a rate limit inside the operation (createBooking, codes) is a 429 too; the
    // database unavailable or the city's policies held back, a 503. Both with `Retry-After`.
    let retry = resp.errors.iter().find_map(|e| {
        let ext = e.extensions.as_ref()?;
        let secs = match ext.get("retryAfter") {
            Some(Value::Number(n)) => n.as_u64()?,
            _ => return None,
        };
        match ext.get("code") {
            Some(Value::String(c)) if c == Code::RateLimited.as_str() => {
                Some((StatusCode::TOO_MANY_REQUESTS, secs))
            }
            Some(Value::String(c))
                if c == Code::ServiceUnavailable.as_str()
                    || c == Code::PolicyThrottled.as_str() =>
            {
                Some((StatusCode::SERVICE_UNAVAILABLE, secs))
            }
            _ => None,
        }
    });
    let retry_after = retry.map(|(_, secs)| secs);
    let status = if let Some((status, _)) = retry {
        status
    } else if request_failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let codes = ErrorCodes(
        resp.errors
            .iter()
            .map(
                |e| match e.extensions.as_ref().and_then(|x| x.get("code")) {
                    Some(Value::String(c)) => listed(c),
                    _ => "OTHER",
                },
            )
            .collect(),
    );
    let body = serde_json::to_vec(&resp).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response();
    r.extensions_mut().insert(codes);
    with_retry_after(r, retry_after)
}
