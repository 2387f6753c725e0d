# The office screens: staff (services/web/src/office/staff.rs).
