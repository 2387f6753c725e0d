-- Core booking schema. Instants are UTC seconds since the epoch (INTEGER) on both backends,
-- so one query text serves PostgreSQL and SQLite. Every key starts with tenant_id.

CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    config_json TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'active',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE offices (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    key       TEXT NOT NULL,
    name      TEXT NOT NULL,
    active    INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT offices_tenant_key UNIQUE (tenant_id, key)
);

CREATE TABLE services (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    office_id INTEGER NOT NULL REFERENCES offices(id),
    key       TEXT NOT NULL,
    name      TEXT NOT NULL,
    active    INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT services_tenant_key UNIQUE (tenant_id, key)
);

-- Seats taken per slot and quota. Capacity (P-3) is enforced by a conditional
-- increment of this row inside the booking's transaction. The key ends with the slot, so
-- availability reads one contiguous range of one service's quota.
CREATE TABLE slot_usage (
    tenant_id  INTEGER NOT NULL,
    service_id INTEGER NOT NULL,
    slot_start INTEGER NOT NULL,
    quota      TEXT NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, service_id, quota, slot_start),
    CONSTRAINT slot_usage_not_negative CHECK (used >= 0)
) WITHOUT ROWID;

CREATE TABLE bookings (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id           INTEGER NOT NULL REFERENCES tenants(id),
    service_id          INTEGER NOT NULL REFERENCES services(id),
    code                TEXT NOT NULL,
    status              TEXT NOT NULL,
    quota               TEXT NOT NULL,
    source              TEXT NOT NULL,
    slot_start          INTEGER NOT NULL,
    slot_end            INTEGER NOT NULL,
    client_name         TEXT,
    client_email        TEXT,
    client_phone        TEXT,
    fields_json         TEXT NOT NULL,
    terms_version       TEXT NOT NULL,
    consents_json       TEXT NOT NULL,
    accepted_at         INTEGER NOT NULL,
    confirmation_mode   TEXT NOT NULL,
    confirm_channel     TEXT,
    confirm_secret_hash TEXT,
    confirm_attempts    INTEGER NOT NULL DEFAULT 0,
    confirm_expires_at  INTEGER,
    confirmed_at        INTEGER,
    manage_token_hash   TEXT NOT NULL,
    idempotency_key     TEXT,
    request_hash        TEXT,
    cancelled_at        INTEGER,
    cancel_reason       TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    CONSTRAINT bookings_tenant_code UNIQUE (tenant_id, code),
    CONSTRAINT bookings_tenant_idempotency UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX bookings_tenant_manage_token ON bookings (tenant_id, manage_token_hash);
CREATE INDEX bookings_tenant_confirm_secret ON bookings (tenant_id, confirm_secret_hash);
CREATE INDEX bookings_tenant_service_slot ON bookings (tenant_id, service_id, slot_start);
CREATE INDEX bookings_pending_expiry ON bookings (status, confirm_expires_at);

-- Transactional outbox: written in the same transaction as the booking it belongs to.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
    booking_id      INTEGER REFERENCES bookings(id),
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    payload_json    TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_tenant_booking ON outbox (tenant_id, booking_id);
