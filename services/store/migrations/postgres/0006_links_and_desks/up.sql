-- Issue 10.
--
-- A random value per booking from which the server re-derives the management token (an HMAC
-- under the server's secret, see services/api/src/tokens.rs), so every later e-mail can carry
-- the booking's link while the database keeps only the token's hash. Bookings made before this
-- column have none: their later e-mails link to the city's booking start.
ALTER TABLE bookings ADD COLUMN manage_nonce TEXT;

-- A desk holds at most one called or serving ticket a day. Older duplicates (the bug this
-- fixes) go back to waiting, keeping their place, so the index can be built.
UPDATE tickets SET state = 'waiting', desk = NULL
 WHERE state IN ('called', 'serving') AND desk IS NOT NULL
   AND EXISTS (SELECT 1 FROM tickets AS newer
                WHERE newer.tenant_id = tickets.tenant_id AND newer.office_id = tickets.office_id
                  AND newer.day = tickets.day AND newer.desk = tickets.desk
                  AND newer.state IN ('called', 'serving') AND newer.id > tickets.id);
CREATE UNIQUE INDEX tickets_one_per_desk ON tickets (tenant_id, office_id, day, desk)
 WHERE state IN ('called', 'serving');
