//! The checked-in SDL is the API's contract: these tests fail when the code drifts from it.
//! After an intended change: `UPDATE_SCHEMA=1 cargo test --test schema`, and review the diff.

fn matches_checked_in(file: &str, sdl: String) {
    let path = format!("{}/schema/{file}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("UPDATE_SCHEMA").as_deref() == Ok("1") {
        std::fs::write(&path, &sdl).expect("write the schema file");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == sdl,
        "schema/{file} differs from the code; run `UPDATE_SCHEMA=1 cargo test --test schema` and review the diff"
    );
}

#[test]
fn public_schema_matches_checked_in_sdl() {
    matches_checked_in("public.graphql", okienko_graphql::public::sdl());
}

#[test]
fn admin_schema_matches_checked_in_sdl() {
    matches_checked_in("admin.graphql", okienko_graphql::admin::sdl());
}

#[test]
fn platform_schema_matches_checked_in_sdl() {
    matches_checked_in("platform.graphql", okienko_graphql::platform::sdl());
}

#[test]
fn kiosk_schema_matches_checked_in_sdl() {
    matches_checked_in("kiosk.graphql", okienko_graphql::kiosk::sdl());
}

#[test]
fn desk_schema_matches_checked_in_sdl() {
    matches_checked_in("desk.graphql", okienko_graphql::desk::sdl());
}

#[test]
fn display_schema_matches_checked_in_sdl() {
    matches_checked_in("display.graphql", okienko_graphql::display::sdl());
}
