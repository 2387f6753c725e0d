-- The electronic queue (issue 4): tickets, their daily numbering per office and queue, and
-- anonymous statistics facts. Queues and desks are configuration (tenant.toml), so tickets name
-- their queue by its letter and their desk by its number. Instants are UTC seconds; `day` is
-- the local (Europe/Warsaw) date as YYYY-MM-DD.

-- When a booked visit was checked in at the kiosk. Check-in and the lateness worker both
-- change the booking row conditionally on it, so exactly one of them wins (CI-16, CI-17).
ALTER TABLE bookings ADD COLUMN checked_in_at INTEGER;

-- A day's bookings of a tenant (the kiosk's phone check-in, the admission list (OP-9), the
-- lateness worker) are read by time through bookings_tenant_slot (tenant_id, slot_start, id),
-- created with the staff operations' migration.

-- The last ticket number per office, day and queue, raised in the issuing transaction; walk-in
-- tickets are counted against the queue's daily capacity (CI-4).
CREATE TABLE queue_counters (
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    office_id   INTEGER NOT NULL,
    day         TEXT NOT NULL,
    queue       TEXT NOT NULL,
    last_number INTEGER NOT NULL DEFAULT 0,
    walk_ins    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, office_id, day, queue)
);

-- waiting → called → serving → done; or void (unanswered calls, CI-8), transferred (to another
-- queue: a new row keeps the arrival time), refused (ZG-14, with the reason).
CREATE TABLE tickets (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id          INTEGER NOT NULL REFERENCES tenants(id),
    office_id          INTEGER NOT NULL REFERENCES offices(id),
    day                TEXT NOT NULL,
    queue              TEXT NOT NULL,
    number             INTEGER NOT NULL,
    label              TEXT NOT NULL,
    kind               TEXT NOT NULL,
    booking_id         INTEGER REFERENCES bookings(id),
    service_id         INTEGER,
    booked_at          INTEGER,
    state              TEXT NOT NULL,
    issued_at          INTEGER NOT NULL,
    arrived_at         INTEGER NOT NULL,
    call_count         INTEGER NOT NULL DEFAULT 0,
    first_called_at    INTEGER,
    last_called_at     INTEGER,
    desk               INTEGER,
    clerk_id           INTEGER,
    service_started_at INTEGER,
    finished_at        INTEGER,
    transferred_from   INTEGER REFERENCES tickets(id),
    refusal_reason     TEXT,
    updated_at         INTEGER NOT NULL,
    CONSTRAINT tickets_kind CHECK (kind IN ('walk_in', 'booked')),
    CONSTRAINT tickets_state CHECK (state IN ('waiting', 'called', 'serving', 'done', 'void', 'transferred', 'refused'))
);
CREATE INDEX tickets_office_state ON tickets (tenant_id, office_id, day, state);
-- A booking gets one ticket (transfers continue it in rows of their own).
CREATE UNIQUE INDEX tickets_booking_once ON tickets (tenant_id, booking_id)
    WHERE booking_id IS NOT NULL AND transferred_from IS NULL;

-- Anonymous facts for reports (P-5): no booking, no ticket, no person, no time of day; kept
-- when personal data are purged. kind: wait (ticket → first call), service (start → finish),
-- no_show (a booked visit not attended, or a ticket void after unanswered calls).
CREATE TABLE queue_facts (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    office_id INTEGER NOT NULL,
    day       TEXT NOT NULL,
    queue     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    booked    INTEGER NOT NULL,
    seconds   INTEGER,
    CONSTRAINT queue_facts_kind CHECK (kind IN ('wait', 'service', 'no_show'))
);
CREATE INDEX queue_facts_report ON queue_facts (tenant_id, day, office_id, queue);
