-- Every node caches API key records for up to 30 s
-- (docs/api/authentication.md#request-pipeline step 4). A change that affects
-- authentication notifies every node, whoever makes it (console, CLI, SQL), so a
-- revocation takes effect within a second. last_used_at is left out: its batched
-- updates must not empty the caches.
CREATE FUNCTION api_keys_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('licensor_api_keys', COALESCE(NEW.id, OLD.id)::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER api_keys_changed
    AFTER UPDATE OF type, key_hash, scopes, special, revoked, expires_at OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION api_keys_notify();
