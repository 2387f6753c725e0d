//! Static files served from the binary under content-hashed names (`/assets/{name}`), so a
//! page can be cached for a year and `cargo run --release` stays one command with no build
//! step. Vendored libraries keep their released files unchanged (see `assets/*/README.md`).

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use okienko_domain::Code;
use sha2::{Digest, Sha256};

use crate::respond::error_json;

/// One embedded file.
pub struct Asset {
    /// Its name in the source, e.g. `graphiql.min.js`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $path:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// GraphiQL 3.9.0 and React 18.3.1, released UMD builds (`assets/graphiql/README.md`).
pub static ASSETS: &[Asset] = &[
    asset!(
        "react.production.min.js",
        "graphiql/react.production.min.js",
        JS
    ),
    asset!(
        "react-dom.production.min.js",
        "graphiql/react-dom.production.min.js",
        JS
    ),
    asset!("graphiql.min.js", "graphiql/graphiql.min.js", JS),
    asset!("graphiql.min.css", "graphiql/graphiql.min.css", CSS),
    asset!("graphiql-init.js", "graphiql-init.js", JS),
    asset!("graphiql-page.css", "graphiql-page.css", CSS),
    // The citizen pages (`site`).
    asset!("site.css", "site/site.css", CSS),
    asset!("site.js", "site/site.js", JS),
    // The office screens (`office`).
    asset!("office.css", "office/office.css", CSS),
    asset!("kiosk.css", "office/kiosk.css", CSS),
    asset!("kiosk.js", "office/kiosk.js", JS),
    asset!("display.css", "office/display.css", CSS),
    asset!("display.js", "office/display.js", JS),
    // The displays' chime before each spoken call, made by `assets/office/chime.py`.
    asset!("chime.wav", "office/chime.wav", "audio/wav"),
    asset!("desk.js", "office/desk.js", JS),
];

/// Hashed name → asset.
fn by_path() -> &'static HashMap<String, &'static Asset> {
    static MAP: OnceLock<HashMap<String, &'static Asset>> = OnceLock::new();
    MAP.get_or_init(|| ASSETS.iter().map(|a| (hashed(a), a)).collect())
}

/// `graphiql.min.js` → `graphiql.min.3f2a9c1b0d4e.js`: the first 12 hex digits of its SHA-256
/// before the extension.
fn hashed(a: &Asset) -> String {
    let digest = hex::encode(Sha256::digest(a.bytes));
    let short = &digest[..12];
    match a.name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{short}.{ext}"),
        None => format!("{}.{short}", a.name),
    }
}

/// The URL path of an embedded file by its source name. Panics on an unknown name: names are
/// constants of this crate, checked by a test.
pub fn url(name: &str) -> String {
    let a = ASSETS
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no embedded asset {name}"));
    format!("/assets/{}", hashed(a))
}

/// `GET /assets/{file}`: the file, cached for a year (its name changes with its content).
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(a) = by_path().get(&file) else {
        return error_json(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "Nie ma takiego pliku.",
        );
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(a.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        a.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_hashed_path() {
        assert_eq!(by_path().len(), ASSETS.len());
        for a in ASSETS {
            assert!(!a.bytes.is_empty(), "{}", a.name);
            let u = url(a.name);
            assert!(
                u.starts_with("/assets/") && u.len() > a.name.len() + 20,
                "{u}"
            );
        }
        let react = url("react.production.min.js");
        assert!(
            react.ends_with(".js") && react.contains(".production.min."),
            "{react}"
        );
    }

    #[test]
    fn react_keeps_its_licence_header() {
        for name in ["react.production.min.js", "react-dom.production.min.js"] {
            let a = ASSETS.iter().find(|a| a.name == name).map(|a| a.bytes);
            let head = String::from_utf8_lossy(&a.unwrap_or_default()[..200]).to_string();
            assert!(head.contains("@license React"), "{name}: {head}");
        }
    }
}
