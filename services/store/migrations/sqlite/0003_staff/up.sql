-- Staff identities, their sessions, devices in the building, partners' API keys and the
-- audit log (issue 5). Secrets are stored only as SHA-256 hashes; passwords as argon2id PHC
-- strings. Platform operators have no tenant (tenant_id NULL); everyone else belongs to one.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id     INTEGER REFERENCES tenants(id),
    login         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'active',
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT users_role CHECK (role IN ('operator', 'admin', 'call_centre', 'clerk')),
    CONSTRAINT users_status CHECK (status IN ('active', 'suspended')),
    -- Operators are the platform's, everyone else a tenant's.
    CONSTRAINT users_operator_scope CHECK ((role = 'operator') = (tenant_id IS NULL))
);
-- A login (e-mail) is unique within its tenant, and among the platform's operators.
CREATE UNIQUE INDEX users_tenant_login ON users (tenant_id, login) WHERE tenant_id IS NOT NULL;
CREATE UNIQUE INDEX users_operator_login ON users (login) WHERE tenant_id IS NULL;

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    tenant_id  INTEGER REFERENCES tenants(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_tenant_user ON sessions (tenant_id, user_id);

CREATE TABLE devices (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    office_id  INTEGER NOT NULL REFERENCES offices(id),
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    CONSTRAINT devices_kind CHECK (kind IN ('kiosk', 'display'))
);
CREATE INDEX devices_tenant_office ON devices (tenant_id, office_id);

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    scopes     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

-- Who changed what, with the state before and after (JSON). tenant_id NULL: a platform action.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   INTEGER REFERENCES tenants(id),
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX audit_log_tenant_id ON audit_log (tenant_id, id);
