package settings

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/fields"
)

// Set validates changes (key → value in text form, as a form or the API
// sends it) and writes them in idb, the caller's transaction. Nothing is
// written unless every value is valid; the error is then a *fields.Error
// keyed by setting. It returns the keys whose value actually changed, and
// logs them in the activity log. Every node drops its cached snapshot when
// the transaction commits.
func Set(ctx context.Context, idb bun.IDB, by audit.Source, changes map[string]string) ([]string, error) {
	defs := Definitions()
	byKey := make(map[string]Definition, len(defs))
	for _, d := range defs {
		byKey[d.Key] = d
	}
	keys := make([]string, 0, len(changes))
	for k := range changes {
		keys = append(keys, k)
	}
	// Report in the order of the settings page, unknown keys last.
	slices.Sort(keys)
	slices.SortStableFunc(keys, func(a, b string) int { return order(defs, a) - order(defs, b) })

	var verr fields.Error
	encoded := make(map[string]json.RawMessage, len(changes))
	for _, k := range keys {
		d, ok := byKey[k]
		if !ok {
			verr.Add(k, fmt.Sprintf("The %s setting does not exist.", k))
			continue
		}
		v, msg := d.parse(changes[k])
		if msg != "" {
			verr.Add(k, msg)
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode setting %s: %w", k, err)
		}
		encoded[k] = raw
	}
	if err := verr.Err(); err != nil {
		return nil, err
	}

	merged, err := storedWith(ctx, idb, encoded)
	if err != nil {
		return nil, err
	}
	checkTogether(&verr, build(defs, merged), changes)
	if err := verr.Err(); err != nil {
		return nil, err
	}

	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = string(encoded[k])
	}
	var changed []string
	err = idb.NewRaw(`INSERT INTO settings (key, value, updated_at)
		SELECT k, v::jsonb, now() FROM unnest(?::text[], ?::text[]) AS t (k, v)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
		WHERE settings.value IS DISTINCT FROM EXCLUDED.value
		RETURNING key`, pgdialect.Array(keys), pgdialect.Array(vals)).Scan(ctx, &changed)
	if err != nil {
		return nil, fmt.Errorf("save settings: %w", err)
	}
	if len(changed) == 0 {
		return nil, nil
	}
	slices.SortFunc(changed, func(a, b string) int { return order(defs, a) - order(defs, b) })
	err = audit.Record(ctx, idb, audit.Entry{
		Type:    "settings.updated",
		Actor:   by.Actor,
		IP:      by.IP,
		Message: fmt.Sprintf("Settings changed %s: %s.", by.Actor.Via(), strings.Join(changed, ", ")),
		// Keys only: values may be secrets (webhook secret, legacy keys).
		Data: map[string]any{"keys": changed},
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// storedWith returns the stored values with encoded laid over them.
func storedWith(ctx context.Context, idb bun.IDB, encoded map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	var rows []struct {
		Key   string          `bun:"key"`
		Value json.RawMessage `bun:"value"`
	}
	if err := idb.NewRaw("SELECT key, value FROM settings").Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("load settings: %w", err)
	}
	merged := make(map[string]json.RawMessage, len(rows)+len(encoded))
	for _, r := range rows {
		merged[r.Key] = r.Value
	}
	for k, v := range encoded {
		merged[k] = v
	}
	return merged, nil
}

// checkTogether applies the rules that involve two settings, on the values
// as they would be after the change. A message goes on the key that was
// changed, so the form shows it where the admin is looking.
func checkTogether(verr *fields.Error, v *Values, changes map[string]string) {
	on := func(keys ...string) string {
		for _, k := range keys {
			if _, ok := changes[k]; ok {
				return k
			}
		}
		return keys[0]
	}
	if v.LicenseCodeFormat == "custom" && v.LicenseCodeCustomFormat == "" {
		verr.Add(on("license_code_custom_format", "license_code_format"),
			"The license code custom format field is required when license code format is custom.")
	}
	if v.EnableWebhooks && v.WebhookURL == "" {
		verr.Add(on("webhook_url", "enable_webhooks"), "The webhook url field is required when webhooks are enabled.")
	}
	if v.LegacyLicenseKey != "" {
		want := 16
		if strings.HasPrefix(v.LegacyLicenseCipher, "aes-256") {
			want = 32
		}
		if n, _ := legacyKeyBytes(v.LegacyLicenseKey); n != want {
			verr.Add(on("legacy_license_key", "legacy_license_cipher"),
				fmt.Sprintf("The legacy license key must be %d bytes long for %s.", want, v.LegacyLicenseCipher))
		}
	}
}

func order(defs []Definition, key string) int {
	if i := slices.IndexFunc(defs, func(d Definition) bool { return d.Key == key }); i >= 0 {
		return i
	}
	return len(defs)
}
