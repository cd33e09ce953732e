package db

import (
	"context"
	"fmt"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/uptrace/bun/migrate"

	"github.com/licensor/licensor/migrations"
)

// migrationLockKey is the advisory lock that serialises migrations across
// nodes starting at the same time ("LICENSOR" in ASCII, as a number).
const migrationLockKey = 0x4c4943454e534f52

// MigrateResult tells what Migrate applied.
type MigrateResult struct {
	Applied      []string
	RiverApplied []int
}

// Migrate applies River's migrations and Licensor's own, holding a
// PostgreSQL advisory lock so two nodes migrating at once take turns.
// Running it on an up-to-date database applies nothing.
func Migrate(ctx context.Context, d *DB) (*MigrateResult, error) {
	conn, err := d.SQL.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: get connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return nil, fmt.Errorf("migrate: take advisory lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey) //nolint:errcheck

	res := &MigrateResult{}

	rm, err := rivermigrate.New(riverpgxv5.New(d.Pool), nil)
	if err != nil {
		return nil, fmt.Errorf("migrate: river migrator: %w", err)
	}
	rres, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate: river: %w", err)
	}
	for _, v := range rres.Versions {
		res.RiverApplied = append(res.RiverApplied, v.Version)
	}

	ms := migrate.NewMigrations()
	if err := ms.Discover(migrations.FS); err != nil {
		return nil, fmt.Errorf("migrate: discover: %w", err)
	}
	m := migrate.NewMigrator(d.Bun, ms, migrate.WithTableName("licensor_migrations"), migrate.WithLocksTableName("licensor_migration_locks"))
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("migrate: init: %w", err)
	}
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	for _, mg := range group.Migrations {
		res.Applied = append(res.Applied, mg.Name)
	}
	return res, nil
}
