package main

import (
	"context"
	"fmt"

	"github.com/licensor/licensor/app/db"
)

func runMigrate(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "migrate", "migrate [--config FILE]")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	log := newLogger(c.stderr, cfg.Log)
	d, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.close()
	res, err := db.Migrate(ctx, d.DB)
	if err != nil {
		return err
	}
	if len(res.Applied) == 0 && len(res.RiverApplied) == 0 {
		fmt.Fprintln(c.stdout, "Database is up to date.")
		return nil
	}
	for _, v := range res.RiverApplied {
		fmt.Fprintf(c.stdout, "Applied River migration %d\n", v)
	}
	for _, name := range res.Applied {
		fmt.Fprintf(c.stdout, "Applied migration %s\n", name)
	}
	return nil
}
