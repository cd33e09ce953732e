package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/licensor/licensor/app/autoblacklist"
)

// runBlacklistScan runs the auto-blacklist now, as the hourly job and the
// console's manual cron do, and prints what it added.
func runBlacklistScan(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "blacklist-scan", "blacklist-scan [--config FILE]")
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
	res, err := autoblacklist.Run(ctx, d.Bun, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Domains blacklisted: %d%s\n", len(res.Domains), listed(res.Domains))
	fmt.Fprintf(c.stdout, "IPs blacklisted:     %d%s\n", len(res.IPs), listed(res.IPs))
	return nil
}

func listed(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return " (" + strings.Join(items, ", ") + ")"
}
