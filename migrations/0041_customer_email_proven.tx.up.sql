-- Licenses are linked by email only to a proven address
-- (docs/deploy.md#licenses-linked-by-email): email_proven_at is set when
-- the address was confirmed by its link, or set by an admin, the API, an
-- import or an order, never by a self-registration alone, whatever
-- email_verification_required says; confirmed_at stays what lets an
-- account sign in. Existing accounts keep what their confirmation gave.
ALTER TABLE customers ADD COLUMN email_proven_at timestamptz;
UPDATE customers SET email_proven_at = confirmed_at;
