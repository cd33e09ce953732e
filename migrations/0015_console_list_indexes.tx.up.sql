-- Console lists of 100,000 rows page in under 100 ms (issue 4,
-- bench/admin_lists_test.go).
--
-- Sorting: listing.Order sorts ascending as "col ASC NULLS LAST, id ASC"
-- (PostgreSQL's default null order, so a plain (col, id) index serves it)
-- and descending as "col DESC NULLS LAST, id DESC", which a backward scan
-- of that index cannot serve (it puts nulls first); hence a second index
-- per sortable column. created_at is never null and its descending sort
-- uses the existing (created_at DESC, id DESC) indexes.
--
-- Search as you type: one trigram index over the searched columns joined
-- by a unit separator (the search pattern can never contain it, so a match
-- cannot span two columns); the list queries search that same expression.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX customers_name_idx ON customers (name, id);
CREATE INDEX customers_name_desc_idx ON customers (name DESC NULLS LAST, id DESC);
CREATE INDEX customers_email_idx ON customers (email, id);
CREATE INDEX customers_email_desc_idx ON customers (email DESC NULLS LAST, id DESC);
CREATE INDEX customers_last_login_at_idx ON customers (last_login_at, id);
CREATE INDEX customers_last_login_at_desc_idx ON customers (last_login_at DESC NULLS LAST, id DESC);
CREATE INDEX customers_search_idx ON customers
    USING gin ((name || E'\x1f' || email::text || E'\x1f' || client_id::text) gin_trgm_ops);

CREATE INDEX licenses_license_code_idx ON licenses (license_code, id);
CREATE INDEX licenses_license_code_desc_idx ON licenses (license_code DESC NULLS LAST, id DESC);
CREATE INDEX licenses_customer_id_sort_idx ON licenses (customer_id, id);
CREATE INDEX licenses_customer_id_desc_idx ON licenses (customer_id DESC NULLS LAST, id DESC);
CREATE INDEX licenses_email_idx ON licenses (email, id);
CREATE INDEX licenses_email_desc_idx ON licenses (email DESC NULLS LAST, id DESC);
CREATE INDEX licenses_expires_at_sort_idx ON licenses (expires_at, id);
CREATE INDEX licenses_expires_at_desc_idx ON licenses (expires_at DESC NULLS LAST, id DESC);
CREATE INDEX licenses_search_idx ON licenses
    USING gin ((license_code::text || E'\x1f' || coalesce(customer_id::text, '') || E'\x1f' || coalesce(email::text, '')) gin_trgm_ops);
