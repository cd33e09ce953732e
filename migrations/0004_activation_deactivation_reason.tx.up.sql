-- Why an activation stopped holding a slot: 'client' (deactivate API),
-- 'customer' (portal), 'admin' (console or internal API), 'blocked' (its
-- license was blocked) or 'replaced' (deactivate-old made room for a newer
-- one). Shown in the console and carried by the activation.deactivated
-- webhook; NULL while active and for failed attempts.
ALTER TABLE activations ADD COLUMN deactivation_reason text
    CHECK (deactivation_reason IN ('client', 'customer', 'admin', 'blocked', 'replaced'));
