# The office screens: kiosk (services/web/src/office/kiosk.rs).
