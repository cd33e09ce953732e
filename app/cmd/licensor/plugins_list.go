package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/node"
	"github.com/licensor/licensor/plugins/host"
)

// runPluginsList prints every plugin in plugins.dir with its status: ok
// (enabled, started and answered a health check here), disabled, checksum
// mismatch, invalid manifest or crashed (enabled but would not start or
// answer; the reason follows).
func runPluginsList(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "plugins list", "plugins list [--config FILE]")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	log := newLogger(c.stderr, config.Log{Level: "warn", Format: cfg.Log.Format})
	secret, err := instanceSecret(cfg)
	if err != nil {
		return err
	}
	d, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.close()
	if _, err := db.Migrate(ctx, d.DB); err != nil {
		return err
	}
	svc := node.Plugins(&cfg, d.Bun, secret, log)
	h := svc.Host()
	defer h.Close()
	if err := svc.Start(ctx); err != nil {
		return err
	}
	plugins := h.List()
	if len(plugins) == 0 {
		fmt.Fprintf(c.stdout, "No plugins in %s (plugins.dir).\n", cfg.Plugins.Dir)
		return nil
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tKIND\tVERSION\tSTATUS\tDETAIL")
	for _, p := range plugins {
		status, detail := string(p.Status), p.LastError
		if p.Status == host.StatusStopped {
			if err := h.Check(ctx, p.Name); err != nil {
				status, detail = string(host.StatusCrashed), err.Error()
			} else {
				status, detail = "ok", ""
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Name, p.Manifest.Kind, p.Manifest.Version, status, detail)
	}
	return w.Flush()
}
