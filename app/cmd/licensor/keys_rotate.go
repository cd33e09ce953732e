package main

import (
	"context"
	"fmt"
	"time"

	"github.com/licensor/licensor/app/signing"
)

// runKeysRotate makes a new active signing key. Tokens and license files
// signed by the old key keep verifying: it is retired, not deleted.
func runKeysRotate(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "keys rotate", "keys rotate [--config FILE]")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	secret, err := instanceSecret(cfg)
	if err != nil {
		return err
	}
	log := newLogger(c.stderr, cfg.Log)
	d, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.close()

	k, err := signing.Rotate(ctx, d.Bun, secret, time.Now())
	if err != nil {
		return err
	}
	keys, err := signing.List(ctx, d.Bun)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "New active signing key %s (%s). %d older key(s) keep verifying.\n", k.KID, k.Algorithm, len(keys)-1)
	fmt.Fprintln(c.stdout, "Running nodes pick up the new key within a second; clients fetch it from /api/external/public-keys.")
	return nil
}
