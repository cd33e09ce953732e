package licensing

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/db"
)

// scanLockedLicense gives the license bun's scan of lockLicenseSQL's row
// gives, field for field: every column set (times with microseconds and an
// offset, arrays, citext) and every nullable one NULL with empty arrays.
// Prepared, the row comes in binary and decode reads it; unprepared (behind
// a pooler) it comes as text, decode declines, and pgx's Scan reads it:
// both are compared. A column added to licenses that neither reads fails
// here (and in every activate) rather than being left zero.
func TestLockedLicenseScansAsBun(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.license("FULL", LicenseInput{})
	f.exec(`UPDATE licenses SET type = 'pro', customer_id = 'Cust-1', email = 'Buyer@Example.com', invoice = 'INV-9',
		uses = 7, parallel_uses = 3, expires_at = '2031-02-03 04:05:06.789012+05:30', expiry_days = 30,
		expiry_start = 'first_verify', expiry_started_at = '2030-01-02 03:04:05.000001+00',
		updates_until = '2032-06-07 08:09:10.5-03', support_until = '2033-01-01 00:00:00+00',
		domains = '{a.example.com,"b.example.com"}', ips = '{203.0.113.9,198.51.100.0/24}', entitlements = '{Pro,"Extra Seats"}',
		comments = 'a "quoted" comment, with commas', heartbeat_interval = 600, heartbeat_missed = 'release', floating = true,
		is_envato = true, total_activations = 4, created_at = '2029-12-31 23:59:59.999999+01'
		WHERE license_code = 'FULL'`)
	f.license("EMPTY", LicenseInput{})
	f.exec(`UPDATE licenses SET domains = '{}', ips = '{}', entitlements = '{}' WHERE license_code = 'EMPTY'`)

	rollback := errors.New("roll back")
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec} {
		for _, code := range []string{"FULL", "EMPTY", "NONE"} {
			var viaPgx, viaBun *lockedLicense
			var pgxErr, bunErr error
			err := db.WithPgx(f.ctx, f.d.SQL, func(c *pgx.Conn) error {
				return pgx.BeginFunc(f.ctx, c, func(tx pgx.Tx) error {
					rows, err := tx.Query(f.ctx, lockLicenseSQL, mode, code)
					if err != nil {
						return err
					}
					defer rows.Close()
					if !rows.Next() {
						pgxErr = sql.ErrNoRows
						return rollback
					}
					k := new(lockedLicense)
					decoded := k.decode(rows.FieldDescriptions(), rows.RawValues())
					if want := mode == pgx.QueryExecModeCacheStatement; decoded != want {
						t.Errorf("%s in mode %v: decode read the row: %v, want %v", code, mode, decoded, want)
					}
					if !decoded {
						*k = lockedLicense{}
						pgxErr = k.scan(rows)
					}
					viaPgx = k
					return rollback
				})
			})
			if !errors.Is(err, rollback) {
				t.Fatal(err)
			}
			err = f.d.Bun.RunInTx(f.ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				viaBun, bunErr = lockLicenseForActivation(ctx, tx, f.s.runner(tx), code)
				return rollback
			})
			if !errors.Is(err, rollback) {
				t.Fatal(err)
			}
			if code == "NONE" {
				// bun scans no row as a zero license, which activate's
				// product check refused.
				if !errors.Is(pgxErr, sql.ErrNoRows) || bunErr != nil || viaBun.ID != 0 {
					t.Errorf("no license: pgx %v, bun %v %+v", pgxErr, bunErr, viaBun)
				}
				continue
			}
			if pgxErr != nil || bunErr != nil {
				t.Fatalf("%s in mode %v: pgx %v, bun %v", code, mode, pgxErr, bunErr)
			}
			// Each drew its own activation id.
			if viaPgx.NextActivationID == 0 || viaBun.NextActivationID == 0 {
				t.Errorf("%s: no activation id drawn: pgx %d, bun %d", code, viaPgx.NextActivationID, viaBun.NextActivationID)
			}
			viaPgx.NextActivationID, viaBun.NextActivationID = 0, 0
			if !reflect.DeepEqual(viaPgx, viaBun) {
				t.Errorf("%s in mode %v: read through pgx\n%#v\nthrough bun\n%#v", code, mode, viaPgx.License, viaBun.License)
			}
		}
	}
}
