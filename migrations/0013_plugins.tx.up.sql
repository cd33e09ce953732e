-- Installed plugins' state (issue 7): whether an admin enabled each one and
-- its settings. Plugins themselves are files in plugins.dir; a row exists
-- once an admin touched the plugin. Secret settings are sealed with the
-- instance secret (app/signing Seal, additional data = the plugin's name)
-- as one JSON object and never shown again.
CREATE TABLE plugin_settings (
    name       text PRIMARY KEY,
    enabled    boolean NOT NULL DEFAULT false,
    config     jsonb NOT NULL DEFAULT '{}',
    secrets    bytea,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every node runs its own plugin processes: a change anywhere reaches them
-- all within a second.
CREATE FUNCTION plugin_settings_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('licensor_plugins', COALESCE(NEW.name, OLD.name));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER plugin_settings_changed
    AFTER INSERT OR UPDATE OR DELETE ON plugin_settings
    FOR EACH ROW EXECUTE FUNCTION plugin_settings_notify();
