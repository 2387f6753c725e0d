-- Per-tenant policy scripts (P-6): every version kept, one active.
CREATE TABLE policies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    version     INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    source      TEXT NOT NULL,
    author      TEXT NOT NULL,
    test_report TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    CONSTRAINT policies_tenant_version UNIQUE (tenant_id, version)
);
CREATE INDEX policies_tenant_active ON policies (tenant_id, active);

-- The identities a booking counts against (ZG-12, OP-11, GD-12), as salted hashes:
-- enough to count, nothing to read back.
CREATE TABLE booking_identities (
    tenant_id  INTEGER NOT NULL,
    booking_id INTEGER NOT NULL REFERENCES bookings(id),
    kind       TEXT NOT NULL,
    value_hash TEXT NOT NULL,
    PRIMARY KEY (tenant_id, booking_id, kind, value_hash)
);
CREATE INDEX booking_identities_lookup ON booking_identities (tenant_id, value_hash);

-- No-shows per identity (OP-14), recorded by the queue.
CREATE TABLE no_shows (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    booking_id INTEGER REFERENCES bookings(id),
    value_hash TEXT NOT NULL,
    department TEXT,
    at         INTEGER NOT NULL
);
CREATE INDEX no_shows_lookup ON no_shows (tenant_id, value_hash, at);

-- Seats of cancelled bookings given back later, so a cancelled slot cannot be handed
-- straight to a buyer (ZG-12, OP-11, GD-12).
CREATE TABLE seat_releases (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    service_id INTEGER NOT NULL,
    slot_start INTEGER NOT NULL,
    quota      TEXT NOT NULL,
    due_at     INTEGER NOT NULL
);
CREATE INDEX seat_releases_due ON seat_releases (due_at);
