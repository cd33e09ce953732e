-- Order sync (issue 7): which product a store's SKU stands for, per order
-- sync plugin; every order event processed (or refused) once; and where
-- each plugin's polling stopped.
CREATE TABLE order_sku_products (
    plugin     text NOT NULL,
    sku        text NOT NULL,
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plugin, sku)
);

-- One row per (plugin, order, status): a paid order issues its licenses
-- once, a refund or cancellation blocks them once. outcome 'error' rows
-- (an unmapped SKU, a bad email) are retried when the same event comes
-- again; 'done' rows make the event a no-op.
CREATE TABLE processed_orders (
    id             bigserial PRIMARY KEY,
    plugin         text NOT NULL,
    order_id       text NOT NULL,
    status         text NOT NULL CHECK (status IN ('paid', 'refunded', 'cancelled')),
    outcome        text NOT NULL CHECK (outcome IN ('done', 'error')),
    error          text,
    customer_email text,
    customer_id    bigint REFERENCES customers (id) ON DELETE SET NULL,
    license_ids    bigint[] NOT NULL DEFAULT '{}',
    purchased_at   timestamptz,
    processed_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (plugin, order_id, status)
);
CREATE INDEX processed_orders_plugin_idx ON processed_orders (plugin, processed_at DESC, id DESC);

CREATE TABLE order_poll_cursors (
    plugin    text PRIMARY KEY,
    cursor    text NOT NULL,
    polled_at timestamptz NOT NULL DEFAULT now()
);
