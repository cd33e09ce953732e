package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/licensor/licensor/app/admins"
)

func runAdminCreate(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "admin create", "admin create --email EMAIL --password PASSWORD --name NAME [--role ROLE]")
	email := fs.String("email", "", "sign-in email (unique, case-insensitive)")
	password := fs.String("password", "", "password (at least 10 characters)")
	name := fs.String("name", "", "display name")
	roleName := fs.String("role", admins.RoleOwner, "role: owner, administrator, support, read_only, or a custom role's name")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if *email == "" || *password == "" || *name == "" {
		fmt.Fprintln(c.stderr, "--email, --password and --name are required")
		fs.Usage()
		return errUsage
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

	role, err := admins.RoleByName(ctx, d.Bun, *roleName)
	if errors.Is(err, admins.ErrRoleNotFound) {
		return fmt.Errorf("no role %q: use owner, administrator, support, read_only or a custom role's name", *roleName)
	}
	if err != nil {
		return err
	}
	a, err := admins.CreateWithRole(ctx, d.Bun, *name, *email, *password, role.ID)
	if errors.Is(err, admins.ErrEmailTaken) {
		return fmt.Errorf("an admin with the email %s already exists", *email)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Created admin %s <%s> (id %d) with the role %s.\n", a.Name, a.Email, a.ID, role.Name)
	return nil
}
