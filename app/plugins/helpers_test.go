package plugins_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/plugins"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/plugins/host"
	"github.com/licensor/licensor/plugins/host/hosttest"
)

// instanceSecret seals the plugins' secret settings in these tests.
const instanceSecret = "plugins-test-instance-secret-0123456789"

// startPlugins installs the shipped plugin named plugin (built as a real
// executable) and returns a fresh database, its settings and the plugins
// service over a host that runs it, as a node wires them.
func startPlugins(t *testing.T, plugin string) (*db.DB, *settings.Store, *plugins.Service) {
	t.Helper()
	dir := t.TempDir()
	hosttest.Install(t, dir, plugin)
	d := dbtest.New(t)
	store, err := settings.NewStore(d.Bun, nil)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	h := host.New(host.Config{Dir: dir, Logger: logger})
	t.Cleanup(h.Close)
	svc := plugins.New(d.Bun, h, []byte(instanceSecret), logger)
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d, store, svc
}
