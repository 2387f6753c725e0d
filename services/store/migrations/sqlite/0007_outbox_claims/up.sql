-- A claim of an outbox row apart from its retry time (issue 11): who holds it and until when.
-- A worker renews its claims while it delivers; a restart of the only process (SQLite) takes
-- them all back, and on PostgreSQL the claims of a dead replica lapse with their short lease.
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
