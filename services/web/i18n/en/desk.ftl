# The office screens: desk (services/web/src/office/desk.rs).
