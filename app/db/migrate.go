package db

import (
	"context"
	"fmt"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/uptrace/bun/dialect/pgdialect"
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
	ms := migrate.NewMigrations()
	if err := ms.Discover(migrations.FS); err != nil {
		return nil, fmt.Errorf("migrate: discover: %w", err)
	}
	// Every start of every node runs this: on an up-to-date database one
	// query answers it, without the lock and the two migrators' set-up.
	if upToDate(ctx, d, ms) {
		return &MigrateResult{}, nil
	}
	// The lock is a session's: held on a connection of the direct pool,
	// never one through a transaction pooler, which could run the unlock
	// on another server connection.
	conn, err := d.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: get connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return nil, fmt.Errorf("migrate: take advisory lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey) //nolint:errcheck

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

// RiverMigrations are the migrations Migrate applies for River: those of
// the River version this build links (go.mod), oldest first.
func RiverMigrations() []rivermigrate.Migration {
	rm, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	if err != nil {
		// Only a bad line name fails, and Migrate uses River's default.
		panic(fmt.Sprintf("db: river migrator: %v", err))
	}
	return rm.AllVersions()
}

// upToDate reports, in one round trip, whether every migration of this
// build (River's and Licensor's) is recorded as applied. Any doubt (a
// table missing, an error) answers false: Migrate then runs the migrators,
// which decide.
func upToDate(ctx context.Context, d *DB, ms *migrate.Migrations) bool {
	var names []string
	for _, m := range ms.Sorted() {
		names = append(names, m.Name)
	}
	var versions []int64
	for _, v := range RiverMigrations() {
		versions = append(versions, int64(v.Version))
	}
	var ok bool
	err := d.Bun.NewRaw(`SELECT
		(SELECT count(DISTINCT name) FROM licensor_migrations WHERE name = ANY(?::text[]) AND migrated_at IS NOT NULL) = ?
		AND (SELECT count(DISTINCT version) FROM river_migration WHERE line = 'main' AND version = ANY(?::bigint[])) = ?`,
		pgdialect.Array(names), len(names), pgdialect.Array(versions), len(versions)).Scan(ctx, &ok)
	return err == nil && ok
}
