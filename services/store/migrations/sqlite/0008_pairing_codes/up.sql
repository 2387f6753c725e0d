-- Pairing kiosks and displays with a short one-time code (issue 14). The administrator's page
-- makes a code for a device still to come (its kind, office, for a door display its desk, a
-- name); the device's browser redeems it once, within minutes, and becomes that device. Only
-- the code's SHA-256 is stored, keyed by tenant: another city's code is unknown here.
CREATE TABLE pairing_codes (
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    code_hash  TEXT NOT NULL,
    office_id  INTEGER NOT NULL REFERENCES offices(id),
    kind       TEXT NOT NULL,
    desk       INTEGER,
    name       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- Set by the one conditional UPDATE that redeems the code; a second redemption finds it set.
    used_at    INTEGER,
    device_id  INTEGER REFERENCES devices(id),
    PRIMARY KEY (tenant_id, code_hash),
    CONSTRAINT pairing_codes_kind CHECK (kind IN ('kiosk', 'display'))
);

-- A door display shows the calls of one desk; hall displays and kiosks have none.
ALTER TABLE devices ADD COLUMN desk INTEGER;
