-- Staff operations on bookings (issue 5, phase B): phone bookings, rejections, visit outcomes,
-- each booking's history, personal-data rights and retention (P-5, GD-14), complaints (CI-23).

-- When the personal data of a booking are erased at the latest (GD-14: phone bookings on the
-- visit day); when they were erased; which staff member made the booking (phone bookings);
-- and the visit's outcome recorded at the desk (ZG-14, OP-14).
ALTER TABLE bookings ADD COLUMN personal_data_expires_at INTEGER;
ALTER TABLE bookings ADD COLUMN erased_at INTEGER;
ALTER TABLE bookings ADD COLUMN created_by TEXT;
ALTER TABLE bookings ADD COLUMN outcome TEXT;
ALTER TABLE bookings ADD COLUMN outcome_note TEXT;
ALTER TABLE bookings ADD COLUMN outcome_at INTEGER;
ALTER TABLE bookings ADD COLUMN outcome_by TEXT;
-- Staff lists by day (keyset pages on slot start and id) and the retention worker.
CREATE INDEX bookings_tenant_slot ON bookings (tenant_id, slot_start, id);

-- What happened to a booking, by whom and when. Details hold no personal data.
CREATE TABLE booking_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    booking_id  INTEGER NOT NULL REFERENCES bookings(id),
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    detail_json TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX booking_events_tenant_booking ON booking_events (tenant_id, booking_id, id);

-- Complaints (reklamacje), answered within 14 calendar days (CI-23).
CREATE TABLE complaints (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    number        INTEGER NOT NULL,
    channel       TEXT NOT NULL,
    body          TEXT,
    contact_email TEXT,
    booking_id    INTEGER REFERENCES bookings(id),
    booking_code  TEXT,
    status        TEXT NOT NULL DEFAULT 'open',
    filed_by      TEXT,
    filed_at      INTEGER NOT NULL,
    deadline_at   INTEGER NOT NULL,
    answer        TEXT,
    answered_by   TEXT,
    answered_at   INTEGER,
    closed_at     INTEGER,
    erased_at     INTEGER,
    CONSTRAINT complaints_tenant_number UNIQUE (tenant_id, number),
    CONSTRAINT complaints_status CHECK (status IN ('open', 'answered', 'closed')),
    CONSTRAINT complaints_channel CHECK (channel IN ('online', 'letter', 'email', 'phone', 'in_person'))
);
CREATE INDEX complaints_tenant_status ON complaints (tenant_id, status, deadline_at);
