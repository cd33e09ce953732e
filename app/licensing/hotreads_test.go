package licensing

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/app/db"
)

// Verify's reads of an activation (by token) and of a license's
// activations on a host (by code) go through pgx itself on the pool, and
// decode a prepared statement's binary row without pgx's Scan
// (binaryRow). Everything verify answers is made from what they read, so
// reading exactly what the database/sql path (still used in transactions)
// reads, value for value, pointer or nil alike, keeps every answer byte
// for byte: this compares the two over rows covering every column NULL and
// not, times before and after 2000 and with microseconds, prepared
// (binaryRow) and unprepared (text results, read by pgx's Scan), and a
// value neither may read (an infinite expiry).
func TestHotReadsMatchDatabaseSQL(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	ctx := context.Background()
	exec := func(q string, args ...any) int64 {
		t.Helper()
		var id int64
		if err := f.d.Bun.QueryRowContext(ctx, q+" RETURNING id", args...).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	license := func(code, columns, values string) int64 {
		t.Helper()
		cols, vals := "product_id, license_code", "?, ?"
		if columns != "" {
			cols, vals = cols+", "+columns, vals+", "+values
		}
		return exec("INSERT INTO licenses ("+cols+") VALUES ("+vals+")", f.product.ID, code)
	}
	activation := func(licenseID int64, code, columns, values string) int64 {
		t.Helper()
		cols, vals := "license_id, product_id, license_code", "?, ?, ?"
		if columns != "" {
			cols, vals = cols+", "+columns, vals+", "+values
		}
		return exec("INSERT INTO activations ("+cols+") VALUES ("+vals+")", licenseID, f.product.ID, code)
	}

	type host struct{ code, client, host string }
	var (
		ids   []int64
		hosts []host
	)
	plain := license("HR-PLAIN", "", "")
	ids = append(ids, activation(plain, "HR-PLAIN", "", ""))
	hosts = append(hosts, host{"HR-PLAIN", "", ""}, host{"HR-PLAIN", "", "nowhere.example"}, host{"HR-NONE", "", ""})

	full := license("HR-FULL", "customer_id, expires_at, entitlements, heartbeat_interval, heartbeat_missed, floating",
		"'Client-7', '2031-05-06 07:08:09.123456+00', '{export,sso}', 3600, 'keep', true")
	ids = append(ids,
		activation(full, "HR-FULL", "client_name, domain, ip", "'Shop One', 'shop.example.com', '203.0.113.7'"),
		activation(full, "HR-FULL", "client_name, domain, ip, is_active, deactivation_reason", "'', 'shop.example.com', '', false, 'released'"),
		activation(full, "HR-FULL", "domain, is_valid, is_active", "'shop.example.com', false, false"),
		activation(full, "HR-FULL", "client_name, domain, ip", "'Shop Two', 'shop.example.com', '2001:db8::1'"))
	hosts = append(hosts, host{"HR-FULL", "", "shop.example.com"}, host{"HR-FULL", "client-7", "shop.example.com"},
		host{"HR-FULL", "shop two", "shop.example.com"}, host{"HR-FULL", "", ""})

	past := license("HR-PAST", "is_valid, expires_at, expiry_days", "false, '1999-12-31 23:59:59.999999+00', 0")
	ids = append(ids, activation(past, "HR-PAST", "domain, is_active, deactivation_reason", "'old.example', false, 'blocked'"))
	hosts = append(hosts, host{"HR-PAST", "", "old.example"})

	epoch := license("HR-EPOCH", "expires_at", "'1970-01-01 00:00:00.000001+00'")
	ids = append(ids, activation(epoch, "HR-EPOCH", "", ""))
	hosts = append(hosts, host{"HR-EPOCH", "", ""})

	clock := license("HR-CLOCK", "expiry_days, expiry_start, heartbeat_interval", "30, 'first_verify', 60")
	ids = append(ids, activation(clock, "HR-CLOCK", "domain", "'clock.example'"))
	hosts = append(hosts, host{"HR-CLOCK", "", "clock.example"})

	started := license("HR-STARTED", "expiry_days, expiry_start, expires_at", "30, 'first_verify', '2026-02-03 04:05:06+00'")
	ids = append(ids, activation(started, "HR-STARTED", "", ""), -1)
	hosts = append(hosts, host{"HR-STARTED", "", ""})

	// Codes, hosts and client names holding what an array's text form
	// quotes or escapes (a batch by code sends its keys so,
	// codeKeyArrays): quotes, backslashes, braces, commas, spaces at the
	// ends, a bare NULL; each reads its own rows.
	odd := `HR-"Q"\{a,b}`
	ids = append(ids, activation(license(odd, "", ""), odd, "client_name, domain", `'Cl "x" \ {,}', ' h"o\st{,}.example '`))
	ids = append(ids, activation(license("NULL", "", ""), "NULL", "client_name, domain", "'NULL', 'NULL'"))
	hosts = append(hosts, host{odd, `cl "x" \ {,}`, ` h"o\st{,}.example `}, host{odd, "", ""}, host{"NULL", "NULL", "NULL"}, host{"NULL", "", ""},
		host{" NULL ", "", ""})

	// An infinite expiry: no time.Time holds it, and both paths refuse it.
	infinite := license("HR-INFINITE", "expires_at", "'infinity'")
	infiniteID := activation(infinite, "HR-INFINITE", "", "")

	prepared, unprepared := NewService(Options{}), NewService(Options{Unprepared: true})
	direct := preparedRunner(f.d.Bun)
	for _, mode := range []struct {
		name   string
		s      *Service
		r      sqlRunner
		binary bool
	}{
		{"prepared", prepared, direct, true},
		{"unprepared", unprepared, unprepared.runner(f.d.Bun), false},
	} {
		for _, id := range ids {
			want, err := loadActivationStateSQL(ctx, f.d.Bun, mode.r, id)
			if err != nil {
				t.Fatalf("%s: activation %d through database/sql: %v", mode.name, id, err)
			}
			got, err := mode.s.loadActivationState(ctx, f.d.Bun, id)
			if err != nil {
				t.Fatalf("%s: activation %d through pgx: %v", mode.name, id, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: activation %d:\npgx          %s\ndatabase/sql %s", mode.name, id, dumpState(got), dumpState(want))
			}
			if id < 0 {
				continue
			}
			var decoded bool
			if err := db.WithPgx(ctx, f.d.SQL, func(c *pgx.Conn) error {
				var st activationState
				decoded, err = queryActivationState(ctx, c, mode.s.execMode(), id, &st)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if decoded != mode.binary {
				t.Errorf("%s: activation %d read by binaryRow: %v, want %v", mode.name, id, decoded, mode.binary)
			}
		}
		if _, err := loadActivationStateSQL(ctx, f.d.Bun, mode.r, infiniteID); err == nil {
			t.Fatalf("%s: database/sql read an infinite expiry", mode.name)
		}
		if _, err := mode.s.loadActivationState(ctx, f.d.Bun, infiniteID); err == nil {
			t.Errorf("%s: pgx read an infinite expiry; database/sql refuses it", mode.name)
		}

		// A batch (activationStatesSQL) reads each the same: every id
		// above, one twice, the missing one and the infinite expiry, which
		// fails its own read and no other.
		batch := append(append([]int64{infiniteID}, ids...), ids[1])
		states, errs := make([]*activationState, len(batch)), make([]error, len(batch))
		if err := db.WithPgx(ctx, f.d.SQL, func(c *pgx.Conn) error {
			return queryActivationStates(ctx, c, mode.s.execMode(), batch, states, errs)
		}); err != nil {
			t.Fatalf("%s: a batch: %v", mode.name, err)
		}
		for i, id := range batch {
			if id == infiniteID {
				if errs[i] == nil || states[i] != nil {
					t.Errorf("%s: a batch read an infinite expiry: %s", mode.name, dumpState(states[i]))
				}
				continue
			}
			want, err := loadActivationStateSQL(ctx, f.d.Bun, mode.r, id)
			if err != nil {
				t.Fatal(err)
			}
			if errs[i] != nil || !reflect.DeepEqual(states[i], want) {
				t.Errorf("%s: activation %d in a batch (%v):\npgx          %s\ndatabase/sql %s", mode.name, id, errs[i], dumpState(states[i]), dumpState(want))
			}
		}
		if states[2] == states[len(states)-1] {
			t.Errorf("%s: an id read twice in a batch shares its state", mode.name)
		}

		for _, h := range hosts {
			want, err := loadCodeStateSQL(ctx, f.d.Bun, mode.r, f.product.ID, h.code, h.client, h.host)
			if err != nil {
				t.Fatalf("%s: code %+v through database/sql: %v", mode.name, h, err)
			}
			got, err := mode.s.loadCodeState(ctx, f.d.Bun, f.product.ID, h.code, h.client, h.host)
			if err != nil {
				t.Fatalf("%s: code %+v through pgx: %v", mode.name, h, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: code %+v:\npgx          %+v\ndatabase/sql %+v", mode.name, h, got, want)
			}
			var decoded bool
			if err := db.WithPgx(ctx, f.d.SQL, func(c *pgx.Conn) error {
				var err error
				_, decoded, err = queryCodeState(ctx, c, mode.s.execMode(), f.product.ID, h.code, h.client, h.host)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if got != nil && decoded != mode.binary {
				t.Errorf("%s: code %+v read by binaryRow: %v, want %v", mode.name, h, decoded, mode.binary)
			}
		}
		if _, err := mode.s.loadCodeState(ctx, f.d.Bun, f.product.ID, "HR-INFINITE", "", ""); err == nil {
			t.Errorf("%s: pgx read an infinite expiry by code", mode.name)
		}

		// A batch of reads by code (codeStatesSQL) reads each the same:
		// every key above, one twice, and the infinite expiry, which fails
		// its own read and no other.
		keys := []codeKey{{productID: f.product.ID, code: "HR-INFINITE"}}
		for _, h := range append(hosts, hosts[3]) {
			keys = append(keys, codeKey{productID: f.product.ID, code: h.code, host: h.host, clientName: strings.TrimSpace(h.client)})
		}
		codeStates, codeErrs := make([]*codeState, len(keys)), make([]error, len(keys))
		if err := db.WithPgx(ctx, f.d.SQL, func(c *pgx.Conn) error {
			return queryCodeStates(ctx, c, mode.s.execMode(), keys, codeStates, codeErrs)
		}); err != nil {
			t.Fatalf("%s: a batch by code: %v", mode.name, err)
		}
		for i, k := range keys {
			if k.code == "HR-INFINITE" {
				if codeErrs[i] == nil || codeStates[i] != nil {
					t.Errorf("%s: a batch by code read an infinite expiry: %+v", mode.name, codeStates[i])
				}
				continue
			}
			want, err := loadCodeStateSQL(ctx, f.d.Bun, mode.r, k.productID, k.code, k.clientName, k.host)
			if err != nil {
				t.Fatal(err)
			}
			if codeErrs[i] != nil || !reflect.DeepEqual(codeStates[i], want) {
				t.Errorf("%s: code %+v in a batch (%v):\npgx          %+v\ndatabase/sql %+v", mode.name, k, codeErrs[i], codeStates[i], want)
			}
		}
		if codeStates[4] == nil || codeStates[4] == codeStates[len(codeStates)-1] {
			t.Errorf("%s: a key read twice in a batch shares its state", mode.name)
		}
	}

	// A missing activation is nil through either.
	if st, err := prepared.loadActivationState(ctx, f.d.Bun, -1); st != nil || err != nil {
		t.Fatalf("a missing activation: %+v, %v", st, err)
	}
	if err := db.WithPgx(ctx, f.d.SQL, func(c *pgx.Conn) error {
		_, err := queryActivationState(ctx, c, pgx.QueryExecModeCacheStatement, -1, new(activationState))
		return err
	}); !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("a missing activation's query: %v", err)
	}
}

// dumpState shows st's fields with their pointers followed.
func dumpState(st *activationState) string {
	if st == nil {
		return "nil"
	}
	v := reflect.ValueOf(*st)
	var b strings.Builder
	for i := range v.NumField() {
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				fmt.Fprintf(&b, "%s=nil ", v.Type().Field(i).Name)
				continue
			}
			fv = fv.Elem()
		}
		fmt.Fprintf(&b, "%s=%#v ", v.Type().Field(i).Name, fv.Interface())
	}
	return b.String()
}
