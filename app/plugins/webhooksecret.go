package plugins

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/signing"
)

// webhookPurpose keys the sealing of the webhook secrets (HKDF info).
const webhookPurpose = "licensor plugin webhook secret v1"

// WebhookSecret returns plugin name's webhook secret, the last segment of
// its store webhook URL (docs/api/external.md#store-webhooks), generating it on first use.
func (s *Service) WebhookSecret(ctx context.Context, name string) (string, error) {
	if _, ok := s.host.Get(name); !ok {
		return "", ErrNotFound
	}
	secret, err := s.storedWebhookSecret(ctx, name)
	if err != nil || secret != "" {
		return secret, err
	}
	fresh, err := s.newWebhookSecret(name)
	if err != nil {
		return "", err
	}
	// Two first uses at once (two nodes) keep the one stored first.
	var sealed []byte
	err = s.db.NewRaw(`INSERT INTO plugin_settings (name, webhook_secret) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET webhook_secret = COALESCE(plugin_settings.webhook_secret, EXCLUDED.webhook_secret)
		RETURNING webhook_secret`, name, fresh).Scan(ctx, &sealed)
	if err != nil {
		return "", fmt.Errorf("store webhook secret of %s: %w", name, err)
	}
	return s.openWebhookSecret(name, sealed)
}

// RotateWebhookSecret replaces plugin name's webhook secret: the old URL
// stops working at once.
func (s *Service) RotateWebhookSecret(ctx context.Context, name string, src audit.Source) (string, error) {
	if _, ok := s.host.Get(name); !ok {
		return "", ErrNotFound
	}
	fresh, err := s.newWebhookSecret(name)
	if err != nil {
		return "", err
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewRaw(`INSERT INTO plugin_settings (name, webhook_secret) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET webhook_secret = EXCLUDED.webhook_secret, updated_at = now()`,
			name, fresh).Exec(ctx); err != nil {
			return fmt.Errorf("rotate webhook secret of %s: %w", name, err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			Type: "plugin.webhook_secret_rotated", Actor: src.Actor, IP: src.IP,
			Message: fmt.Sprintf("Webhook secret of plugin %s rotated %s.", name, src.Actor.Via()),
			Data:    map[string]any{"plugin": name},
		})
	})
	if err != nil {
		return "", err
	}
	return s.openWebhookSecret(name, fresh)
}

// CheckWebhookSecret reports, in constant time, whether secret is plugin
// name's webhook secret. A plugin without one accepts nothing.
func (s *Service) CheckWebhookSecret(ctx context.Context, name, secret string) (bool, error) {
	stored, err := s.storedWebhookSecret(ctx, name)
	if err != nil || stored == "" {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(secret), []byte(stored)) == 1, nil
}

func (s *Service) storedWebhookSecret(ctx context.Context, name string) (string, error) {
	var sealed []byte
	err := s.db.NewSelect().Table("plugin_settings").Column("webhook_secret").Where("name = ?", name).Scan(ctx, &sealed)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && len(sealed) == 0) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load webhook secret of %s: %w", name, err)
	}
	return s.openWebhookSecret(name, sealed)
}

// newWebhookSecret is 24 random bytes, 32 URL-safe characters, sealed.
func (s *Service) newWebhookSecret(name string) ([]byte, error) {
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	return signing.Seal(s.secret, webhookPurpose, name, []byte(base64.RawURLEncoding.EncodeToString(raw)), rand.Reader)
}

func (s *Service) openWebhookSecret(name string, sealed []byte) (string, error) {
	plain, err := signing.Open(s.secret, webhookPurpose, name, sealed)
	if err != nil {
		return "", fmt.Errorf("open webhook secret of %s (instance secret changed? rotate it): %w", name, err)
	}
	return string(plain), nil
}
