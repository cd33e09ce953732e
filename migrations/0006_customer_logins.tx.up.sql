-- Customer portal sign-in (docs/features.md#customer-portal,
-- docs/features.md#security): the sign-in history, and a per-customer session
-- epoch (0 when there is no row). Each portal session remembers the epoch it
-- started under; raising it (password reset) ends every other session of the
-- customer.
CREATE TABLE customer_logins (
    id          bigserial PRIMARY KEY,
    customer_id bigint REFERENCES customers (id) ON DELETE CASCADE,
    login       text        NOT NULL,
    ip          text        NOT NULL DEFAULT '',
    user_agent  text        NOT NULL DEFAULT '',
    success     boolean     NOT NULL,
    reason      text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_logins_customer_id_idx ON customer_logins (customer_id, created_at DESC);
CREATE INDEX customer_logins_created_at_idx ON customer_logins (created_at);

CREATE TABLE customer_session_epochs (
    customer_id bigint PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    epoch       bigint NOT NULL
);
