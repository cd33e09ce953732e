// Package plugins is the app's side of the plugins: the admins' choices
// for each installed plugin (enabled, settings) in PostgreSQL with secret
// settings sealed by the instance secret, applied to this node's
// plugins/host and to every other node's through NOTIFY; and the adapters
// that make plugins look like the app's own CAPTCHA providers and import
// formats. plugins/ never imports app/: the adaptation lives here.
package plugins

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/pgnotify"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/plugins/host"
	"github.com/licensor/licensor/plugins/sdk"
)

// Channel is the NOTIFY channel of the plugin_settings trigger
// (migrations/0013).
const Channel = "licensor_plugins"

// sealPurpose keys the sealing of plugin secrets (HKDF info).
const sealPurpose = "licensor plugin secrets v1"

// maxValueLen bounds one setting's value.
const maxValueLen = 4096

// ErrNotFound is returned for a plugin that is not installed.
var ErrNotFound = errkind.New(errkind.NotFound, "plugin not installed")

// Service keeps the plugins' state and applies it to the host.
type Service struct {
	db     bun.IDB
	host   *host.Host
	secret []byte
	log    *slog.Logger

	// applyMu makes each read of the stored state and its application to
	// the host one step: notifications are applied in goroutines of their
	// own, and an older read applied after a newer one (an "enabled" row
	// without settings after the settings) left a node's plugin without
	// its settings ("not configured") until the next change.
	applyMu sync.Mutex
}

// New returns the service for h. secret is the instance secret.
func New(db bun.IDB, h *host.Host, secret []byte, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, host: h, secret: secret, log: log}
}

// Host is the plugin host the service drives.
func (s *Service) Host() *host.Host { return s.host }

// Subscribe makes changes made on any node reach this node's host. Call
// before listener.Start.
func (s *Service) Subscribe(listener *pgnotify.Listener) error {
	return listener.Subscribe(Channel, pgnotify.Subscriber{
		Notify: func(name string) {
			go func() {
				if err := s.apply(context.Background(), name); err != nil {
					s.log.Warn("apply plugin settings", "plugin", name, "err", err)
				}
			}()
		},
		Reset: func() {
			go func() {
				if err := s.ApplyAll(context.Background()); err != nil {
					s.log.Warn("apply plugin settings", "err", err)
				}
			}()
		},
	})
}

// Start discovers the installed plugins and applies the stored state.
// Plugins start on first use.
func (s *Service) Start(ctx context.Context) error {
	if err := s.host.Discover(); err != nil {
		return err
	}
	return s.ApplyAll(ctx)
}

type row struct {
	bun.BaseModel `bun:"table:plugin_settings,alias:ps"`

	Name      string            `bun:"name,pk"`
	Enabled   bool              `bun:"enabled"`
	Config    map[string]string `bun:"config,type:jsonb"`
	Secrets   []byte            `bun:"secrets"`
	UpdatedAt time.Time         `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

func (s *Service) rows(ctx context.Context, idb bun.IDB) (map[string]row, error) {
	var rs []row
	if err := idb.NewSelect().Model(&rs).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load plugin settings: %w", err)
	}
	out := make(map[string]row, len(rs))
	for _, r := range rs {
		out[r.Name] = r
	}
	return out, nil
}

func (s *Service) row(ctx context.Context, idb bun.IDB, name string) (row, bool, error) {
	var r row
	err := idb.NewSelect().Model(&r).Where("name = ?", name).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return row{Name: name}, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("load plugin settings of %s: %w", name, err)
	}
	return r, true, nil
}

// ApplyAll applies every plugin's stored state to the host.
func (s *Service) ApplyAll(ctx context.Context) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	rows, err := s.rows(ctx, s.db)
	if err != nil {
		return err
	}
	for _, p := range s.host.List() {
		r, ok := rows[p.Name]
		if !ok {
			r = row{Name: p.Name}
		}
		s.applyRow(ctx, r)
	}
	return nil
}

func (s *Service) apply(ctx context.Context, name string) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	r, _, err := s.row(ctx, s.db, name)
	if err != nil {
		return err
	}
	s.applyRow(ctx, r)
	return nil
}

func (s *Service) applyRow(ctx context.Context, r row) {
	if _, ok := s.host.Get(r.Name); !ok {
		return
	}
	values, err := s.values(r)
	if err != nil {
		s.log.Error("plugin secrets do not open (instance secret changed?)", "plugin", r.Name, "err", err)
	}
	// Settings first: a plugin enabled by this row may start (on a call)
	// as soon as it is enabled, and must start with this row's settings,
	// not the ones before.
	if err := s.host.SetConfig(ctx, r.Name, values); err != nil {
		s.log.Warn("plugin settings", "plugin", r.Name, "err", err)
	}
	_ = s.host.SetEnabled(r.Name, r.Enabled)
}

// values are the settings a plugin receives: the stored ones, secrets
// opened.
func (s *Service) values(r row) (map[string]string, error) {
	out := maps.Clone(r.Config)
	if out == nil {
		out = map[string]string{}
	}
	secrets, err := s.openSecrets(r)
	maps.Copy(out, secrets)
	return out, err
}

func (s *Service) openSecrets(r row) (map[string]string, error) {
	out := map[string]string{}
	if len(r.Secrets) == 0 {
		return out, nil
	}
	plain, err := signing.Open(s.secret, sealPurpose, r.Name, r.Secrets)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(plain, &out); err != nil {
		return map[string]string{}, fmt.Errorf("plugin secrets of %s: %w", r.Name, err)
	}
	return out, nil
}

// Plugin is an installed plugin as the console shows it.
type Plugin struct {
	host.Plugin
	// Values are the saved settings that are not secret.
	Values map[string]string
	// SecretSet says which secret settings have a stored value.
	SecretSet map[string]bool
}

// List returns the installed plugins with their saved settings.
func (s *Service) List(ctx context.Context) ([]Plugin, error) {
	rows, err := s.rows(ctx, s.db)
	if err != nil {
		return nil, err
	}
	var out []Plugin
	for _, p := range s.host.List() {
		out = append(out, s.view(p, rows[p.Name]))
	}
	return out, nil
}

// Get returns one installed plugin.
func (s *Service) Get(ctx context.Context, name string) (Plugin, error) {
	p, ok := s.host.Get(name)
	if !ok {
		return Plugin{}, ErrNotFound
	}
	r, _, err := s.row(ctx, s.db, name)
	if err != nil {
		return Plugin{}, err
	}
	return s.view(p, r), nil
}

func (s *Service) view(p host.Plugin, r row) Plugin {
	v := Plugin{Plugin: p, Values: maps.Clone(r.Config), SecretSet: map[string]bool{}}
	if v.Values == nil {
		v.Values = map[string]string{}
	}
	secrets, _ := s.openSecrets(r)
	for k, val := range secrets {
		v.SecretSet[k] = val != ""
	}
	return v
}

// SetEnabled turns a plugin on or off (every node follows).
func (s *Service) SetEnabled(ctx context.Context, name string, enabled bool, src audit.Source) error {
	if _, ok := s.host.Get(name); !ok {
		return ErrNotFound
	}
	word := "disabled"
	if enabled {
		word = "enabled"
	}
	// The commit and its application to this node's host are one step
	// under applyMu: a re-read of every plugin (ApplyAll, on the
	// listener's reconnect) taken before the commit must not be applied
	// after it.
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		r := row{Name: name, Enabled: enabled, Config: map[string]string{}}
		if _, err := tx.NewInsert().Model(&r).
			On("CONFLICT (name) DO UPDATE").Set("enabled = EXCLUDED.enabled, updated_at = now()").
			Exec(ctx); err != nil {
			return fmt.Errorf("save plugin %s: %w", name, err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			Type: "plugin." + word, Actor: src.Actor, IP: src.IP,
			Message: fmt.Sprintf("Plugin %s %s %s.", name, word, src.Actor.Via()),
			Data:    map[string]any{"plugin": name},
		})
	})
	if err != nil {
		return err
	}
	return s.host.SetEnabled(name, enabled)
}

// Save checks input against the plugin's manifest (types, required fields,
// lengths), sends the values to the plugin when it is enabled (it may
// refuse them field by field), then stores them: secrets sealed, an empty
// secret keeping the stored one. Problems come back as *fields.Error keyed
// by config field name.
func (s *Service) Save(ctx context.Context, name string, input map[string]string, src audit.Source) error {
	p, ok := s.host.Get(name)
	if !ok {
		return ErrNotFound
	}
	r, _, err := s.row(ctx, s.db, name)
	if err != nil {
		return err
	}
	oldSecrets, err := s.openSecrets(r)
	if err != nil {
		oldSecrets = map[string]string{} // unreadable: the admin enters them again
	}
	plain, secrets := map[string]string{}, map[string]string{}
	fe := &fields.Error{}
	for _, f := range p.Manifest.Config {
		v, msg := checkValue(f, input[f.Name])
		if f.Secret && v == "" {
			v = oldSecrets[f.Name]
		}
		if msg == "" && f.Required && v == "" {
			msg = "Enter " + strings.ToLower(label(f)) + "."
		}
		if msg != "" {
			fe.Add(f.Name, msg)
			continue
		}
		if f.Secret {
			secrets[f.Name] = v
		} else {
			plain[f.Name] = v
		}
	}
	if err := fe.Err(); err != nil {
		return err
	}
	all := maps.Clone(plain)
	maps.Copy(all, secrets)
	if p.Enabled {
		err := s.host.Configure(ctx, name, all)
		var refused sdk.FieldErrors
		switch {
		case errors.As(err, &refused):
			for _, f := range p.Manifest.Config {
				if m, ok := refused[f.Name]; ok {
					fe.Add(f.Name, m)
				}
			}
			if fe.Len() == 0 {
				fe.Add("", refused.Error())
			}
			return fe
		case err != nil:
			// The plugin could not check them (down, crashed): keep them;
			// the plugin gets them when it starts and the page shows its
			// error.
			s.log.Warn("plugin settings not checked by the plugin", "plugin", name, "err", err)
		}
	}
	sealed, err := s.seal(name, secrets)
	if err != nil {
		return err
	}
	// Stored and applied as one step, as in SetEnabled.
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		nr := row{Name: name, Config: plain, Secrets: sealed}
		if _, err := tx.NewInsert().Model(&nr).
			On("CONFLICT (name) DO UPDATE").
			Set("config = EXCLUDED.config, secrets = EXCLUDED.secrets, updated_at = now()").
			Exec(ctx); err != nil {
			return fmt.Errorf("save plugin %s: %w", name, err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			Type: "plugin.settings_updated", Actor: src.Actor, IP: src.IP,
			Message: fmt.Sprintf("Settings of plugin %s changed %s.", name, src.Actor.Via()),
			Data:    map[string]any{"plugin": name, "settings": plain},
		})
	})
	if err != nil {
		return err
	}
	return s.host.SetConfig(ctx, name, all)
}

func (s *Service) seal(name string, secrets map[string]string) ([]byte, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	plain, err := json.Marshal(secrets)
	if err != nil {
		return nil, err
	}
	return signing.Seal(s.secret, sealPurpose, name, plain, rand.Reader)
}

func label(f sdk.ConfigField) string {
	if f.Label != "" {
		return f.Label
	}
	return f.Name
}

// checkValue normalises one submitted value by its field's type and says
// what is wrong with it.
func checkValue(f sdk.ConfigField, v string) (string, string) {
	if f.Type != sdk.FieldText {
		v = strings.TrimSpace(v)
	}
	if len(v) > maxValueLen {
		return v, fmt.Sprintf("Enter at most %d characters.", maxValueLen)
	}
	switch f.Type {
	case sdk.FieldBool:
		switch strings.ToLower(v) {
		case "true", "on", "1", "yes":
			return "true", ""
		}
		return "false", ""
	case sdk.FieldNumber:
		if v == "" {
			return v, ""
		}
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return v, "Enter a number."
		}
	case sdk.FieldURL:
		if v == "" {
			return v, ""
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return v, "Enter an http(s) URL."
		}
	}
	return v, ""
}
