-- Order plugins' renewal events (docs/licensing.md#renewals): a
-- subscription's recurring charge (status 'renewed') renews the licenses
-- its first paid order issued, on the same keys. subscription_id is the
-- store's subscription an order belongs to, by which a renewal finds that
-- first order when the store does not name it.
ALTER TABLE processed_orders DROP CONSTRAINT processed_orders_status_check;
ALTER TABLE processed_orders
    ADD CONSTRAINT processed_orders_status_check CHECK (status IN ('paid', 'refunded', 'cancelled', 'renewed')),
    ADD COLUMN subscription_id text;
CREATE INDEX processed_orders_subscription_idx ON processed_orders (plugin, subscription_id, id)
    WHERE subscription_id IS NOT NULL AND status = 'paid' AND outcome = 'done';
