//! The checked-in SDL is the API's contract: this test fails when the code drifts from it.
//! After an intended change: `UPDATE_SCHEMA=1 cargo test --test schema`, and review the diff.

#[test]
fn public_schema_matches_checked_in_sdl() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/public.graphql");
    let sdl = okienko_api::public::sdl();
    if std::env::var("UPDATE_SCHEMA").as_deref() == Ok("1") {
        std::fs::write(path, &sdl).expect("write schema/public.graphql");
    }
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == sdl,
        "schema/public.graphql differs from the code; run `UPDATE_SCHEMA=1 cargo test --test schema` and review the diff"
    );
}
