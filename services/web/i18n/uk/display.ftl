# The office screens: display (services/web/src/office/display.rs).
