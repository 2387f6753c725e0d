//! The checked-in SDL is the API's contract: these tests fail when the code drifts from it.
//! After an intended change: `UPDATE_SCHEMA=1 cargo test --test schema`, and review the diff.

mod common;

/// A test per API: its SDL is the file `schema/<api>.graphql`.
macro_rules! sdl_matches {
    ($($test:ident: $api:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                common::matches_checked_in(
                    concat!("schema/", stringify!($api), ".graphql"),
                    &okienko_graphql::$api::sdl(),
                    "the code",
                    "UPDATE_SCHEMA",
                    "schema",
                );
            }
        )*
    };
}

sdl_matches!(
    public_schema_matches_checked_in_sdl: public,
    admin_schema_matches_checked_in_sdl: admin,
    platform_schema_matches_checked_in_sdl: platform,
    kiosk_schema_matches_checked_in_sdl: kiosk,
    desk_schema_matches_checked_in_sdl: desk,
    display_schema_matches_checked_in_sdl: display,
);
