package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/licensor/licensor/app/apikeys"
)

func runAPIKeyCreate(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "apikey create", "apikey create --type external|internal --name NAME [--special] [--scope S]... [--expires YYYY-MM-DD]")
	keyType := fs.String("type", "", "key type: external (client software) or internal (your own servers)")
	name := fs.String("name", "", "a name to recognise the key by")
	special := fs.Bool("special", false, "skip scope checks and rate limits")
	expires := fs.String("expires", "", "expiry date YYYY-MM-DD (at most one year ahead); empty: never")
	var scopes stringList
	fs.Var(&scopes, "scope", "a scope to grant (repeatable); none: every scope of the type")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if *keyType == "" || *name == "" {
		fmt.Fprintln(c.stderr, "--type and --name are required")
		fs.Usage()
		return errUsage
	}
	var expiresAt *time.Time
	if *expires != "" {
		t, err := time.ParseInLocation("2006-01-02", *expires, time.UTC)
		if err != nil {
			return fmt.Errorf("--expires %q is not a date like 2026-12-31", *expires)
		}
		expiresAt = &t
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

	plain, k, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{
		Name: *name, Type: *keyType, Scopes: scopes, Special: *special, ExpiresAt: expiresAt,
	}, time.Now())
	var verr *apikeys.ValidationError
	if errors.As(err, &verr) {
		msgs := make([]string, 0, len(verr.Fields))
		for _, m := range verr.Fields {
			msgs = append(msgs, m)
		}
		sort.Strings(msgs)
		return errors.New(strings.Join(msgs, " "))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Created %s API key %q (id %d) with %d scopes%s.\n", k.Type, k.Name, k.ID, len(k.Scopes), map[bool]string{true: ", special", false: ""}[k.Special])
	if k.Type == apikeys.TypeInternal {
		fmt.Fprintln(c.stdout, "Internal keys must never be shipped inside client software.")
	}
	fmt.Fprintln(c.stdout, "Copy the key now: it is stored hashed and cannot be shown again.")
	fmt.Fprintln(c.stdout, plain)
	return nil
}
