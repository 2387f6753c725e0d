//! GraphiQL on `GET` of every GraphQL endpoint, from files embedded in the binary (`assets`):
//! it works on a machine without internet. The page has no inline script, and its
//! Content-Security-Policy lets it load and call nothing but this server.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use okienko_domain::Code;

use crate::assets;
use crate::respond::error_json;
use okienko_app::App;

#[derive(Template)]
#[template(path = "graphiql.html")]
struct Page<'a> {
    title: &'a str,
    endpoint: &'a str,
    css: String,
    page_css: String,
    react: String,
    react_dom: String,
    graphiql: String,
    init: String,
}

/// GraphiQL's interface is in English, so is the page (`<html lang="en">`).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// GraphiQL for `endpoint`, titled `title`; 405 when GraphiQL is switched off.
pub fn page(app: &App, endpoint: &str, title: &str) -> Response {
    if !app.settings.graphiql {
        return error_json(
            StatusCode::METHOD_NOT_ALLOWED,
            Code::MethodNotAllowed,
            "Użyj metody POST.",
        );
    }
    let page = Page {
        title,
        endpoint,
        css: assets::url("graphiql.min.css"),
        page_css: assets::url("graphiql-page.css"),
        react: assets::url("react.production.min.js"),
        react_dom: assets::url("react-dom.production.min.js"),
        graphiql: assets::url("graphiql.min.js"),
        init: assets::url("graphiql-init.js"),
    };
    match page.render() {
        Ok(html) => crate::pages::with_csp(StatusCode::OK, CSP, html),
        Err(e) => {
            tracing::error!(error = %e, "GraphiQL page");
            error_json(
                StatusCode::INTERNAL_SERVER_ERROR,
                Code::Internal,
                "Wewnętrzny błąd serwera. Spróbuj ponownie za chwilę.",
            )
        }
    }
}
