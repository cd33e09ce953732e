package main

import (
	"context"
	"fmt"

	"github.com/licensor/licensor/app/node"
)

// runExpiryScan runs the expiry scan now, as the daily job and the
// console's manual cron do, and prints what it did. Emails and webhooks it
// queues are sent by a running `licensor serve`.
func runExpiryScan(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "expiry-scan", "expiry-scan [--config FILE]")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	d, err := openDatabase(ctx, cfg, newLogger(c.stderr, cfg.Log))
	if err != nil {
		return err
	}
	defer d.close()
	secret, err := instanceSecret(cfg)
	if err != nil {
		return err
	}
	n, err := node.Build(ctx, node.Options{Config: &cfg, DB: d.DB, Secret: secret, Logger: newLogger(c.stderr, cfg.Log)})
	if err != nil {
		return err
	}
	res, err := n.Expiry.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Warnings sent:   %d\n", res.WarningsSent)
	fmt.Fprintf(c.stdout, "Expired logged:  %d\n", res.ExpiredLogged)
	fmt.Fprintf(c.stdout, "Updates expired: %d\n", res.UpdatesExpired)
	return nil
}
