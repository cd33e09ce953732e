package dbtest

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/licensor/licensor/app/db"
)

// A seeded template is built once and every clone holds its rows; a
// different version is a different template.
func TestTemplateSeededOnce(t *testing.T) {
	t.Parallel()
	var seeds atomic.Int32
	tmpl := &Template{Name: "probe", Version: "1", Seed: func(ctx context.Context, d *db.DB) error {
		seeds.Add(1)
		_, err := d.Bun.ExecContext(ctx, `INSERT INTO kv_store (key, value) VALUES ('dbtest-probe', '\x01')`)
		return err
	}}
	for range 2 {
		d := NewFrom(t, tmpl)
		var n int
		if err := d.Bun.NewRaw(`SELECT count(*) FROM kv_store WHERE key = 'dbtest-probe'`).Scan(context.Background(), &n); err != nil || n != 1 {
			t.Fatalf("seeded rows %d %v", n, err)
		}
	}
	if n := seeds.Load(); n > 1 {
		t.Fatalf("seeded %d times", n)
	}
	a, _ := ensureTemplate(tmpl)
	b, _ := ensureTemplate(&Template{Name: "probe", Version: "2", Seed: tmpl.Seed})
	if a == b || !strings.HasPrefix(a, "licensor_tmpl_"+schemaID()+"_probe_") || len(b) > 63 {
		t.Fatalf("template names %q %q", a, b)
	}
	// A plain database has no seeded rows.
	var n int
	if err := New(t).Bun.NewRaw(`SELECT count(*) FROM kv_store`).Scan(context.Background(), &n); err != nil || n != 0 {
		t.Fatalf("plain database: %d rows %v", n, err)
	}
}

// The schema's identity covers River's migrations as this build links
// them, not a version string written by hand.
func TestSchemaIDCoversRiver(t *testing.T) {
	t.Parallel()
	ms := db.RiverMigrations()
	if len(ms) < 5 {
		t.Fatalf("river migrations: %d", len(ms))
	}
	for i, m := range ms {
		if m.Version != i+1 || strings.TrimSpace(m.SQLUp) == "" {
			t.Fatalf("river migration %d: version %d %q", i, m.Version, m.Name)
		}
	}
	if len(schemaID()) != 12 {
		t.Fatal(schemaID())
	}
}
