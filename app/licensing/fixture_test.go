package licensing

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
)

// licFixture is a migrated database with one active product, a service on
// a settable clock, and recorded hook calls.
type licFixture struct {
	t       *testing.T
	ctx     context.Context
	d       *db.DB
	s       *Service
	set     *settings.Values
	product *catalog.Product
	rec     *VerifyRecorder

	mu    sync.Mutex
	now   time.Time
	hooks []string
}

var (
	testAdmin = audit.Source{Actor: audit.Actor{Type: audit.ActorAdmin, Name: "root"}, IP: "127.0.0.1"}
	testKeyID = int64(3)
	testKey   = audit.Actor{Type: audit.ActorAPIKey, ID: &testKeyID, Name: "client key"}
)

func newLicFixture(t *testing.T) *licFixture {
	t.Helper()
	f := &licFixture{t: t, ctx: context.Background(), d: dbtest.New(t), set: settings.Defaults(),
		now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	f.rec = NewVerifyRecorder(f.d.Bun, RecorderOptions{})
	f.s = NewService(Options{Now: f.clock, Hooks: f.recordingHooks(), Recorder: f.rec, OfflineSecret: []byte("licensing test instance secret")})
	f.product = f.newProduct("ACME", "Acme CMS")
	// Whatever the test did, every license's counter still agrees
	// (counter_test.go).
	t.Cleanup(func() {
		if !t.Failed() {
			f.checkCounters("the test")
		}
	})
	return f
}

func (f *licFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *licFixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *licFixture) hook(s string) {
	f.mu.Lock()
	f.hooks = append(f.hooks, s)
	f.mu.Unlock()
}

func (f *licFixture) takeHooks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.hooks
	f.hooks = nil
	return h
}

func (f *licFixture) recordingHooks() Hooks {
	return Hooks{
		LicenseCreated: func(_ context.Context, _ bun.IDB, l *License) error {
			f.hook("license.created " + l.LicenseCode)
			return nil
		},
		LicenseUpdated: func(_ context.Context, _ bun.IDB, l *License, changed []string) error {
			f.hook("license.updated " + l.LicenseCode + " " + join(changed))
			return nil
		},
		LicenseBlocked: func(_ context.Context, _ bun.IDB, l *License) error {
			f.hook("license.blocked " + l.LicenseCode)
			return nil
		},
		LicenseUnblocked: func(_ context.Context, _ bun.IDB, l *License) error {
			f.hook("license.unblocked " + l.LicenseCode)
			return nil
		},
		ActivationCreated: func(_ context.Context, _ bun.IDB, a *Activation, l *License) error {
			f.hook("activation.created " + l.LicenseCode)
			return nil
		},
		ActivationDeactivated: func(_ context.Context, _ bun.IDB, a *Activation, l *License, reason string) error {
			f.hook("activation.deactivated " + l.LicenseCode + " " + reason)
			return nil
		},
		ActivationReleased: func(_ context.Context, _ bun.IDB, a *Activation, l *License) error {
			f.hook("activation.released " + l.LicenseCode)
			return nil
		},
		// They only record: activate runs pipelined, as on a node
		// with none of its webhooks enabled.
		Quiet: func(*settings.Values) bool { return true },
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

func (f *licFixture) newProduct(ref, name string) *catalog.Product {
	f.t.Helper()
	p, err := catalog.NewService(f.clock).CreateProduct(f.ctx, f.d.Bun, testAdmin, f.set, catalog.ProductInput{
		Name: fields.Some(name), ReferenceID: fields.Some(ref),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// license creates a license of the fixture's product with code.
func (f *licFixture) license(code string, in LicenseInput) *License {
	f.t.Helper()
	if !in.ProductReferenceID.Set {
		in.ProductReferenceID = fields.Some(f.product.ReferenceID)
	}
	in.LicenseCode = fields.Some(code)
	l, err := f.s.CreateLicense(f.ctx, f.d.Bun, testAdmin, f.set, in)
	if err != nil {
		f.t.Fatal(err)
	}
	f.takeHooks()
	return l
}

func caller(host string) Caller {
	c := Caller{IP: "203.0.113.9", Host: host, UserAgent: "test-client/1.0", Key: testKey}
	if host != "" {
		c.URL = "https://" + host
	}
	return c
}

func (f *licFixture) activate(code, client string, c Caller) *ActivateResult {
	f.t.Helper()
	res, err := f.s.Activate(f.ctx, f.d.Bun, f.set, ActivateRequest{ProductRef: f.product.ReferenceID, LicenseCode: code, ClientName: client, Caller: c})
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// mustActivate activates and fails the test on a Failure.
func (f *licFixture) mustActivate(code, client string, c Caller) *Activation {
	f.t.Helper()
	res := f.activate(code, client, c)
	if res.Failure != nil {
		f.t.Fatalf("activate %s: %+v", code, *res.Failure)
	}
	return res.Activation
}

func (f *licFixture) reload(id int64) *License {
	f.t.Helper()
	l, err := Get(f.ctx, f.d.Bun, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return l
}

func (f *licFixture) activation(id int64) *Activation {
	f.t.Helper()
	a, err := GetActivation(f.ctx, f.d.Bun, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *licFixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.d.Bun.NewRaw(query, args...).Scan(f.ctx, &n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *licFixture) lastMessage() string {
	f.t.Helper()
	var m string
	if err := f.d.Bun.NewRaw("SELECT message FROM activity_log ORDER BY id DESC LIMIT 1").Scan(f.ctx, &m); err != nil {
		f.t.Fatal(err)
	}
	return m
}

func intp(n int) *int              { return &n }
func strp(s string) *string        { return &s }
func timep(t time.Time) *time.Time { return &t }

func wantFailure(t *testing.T, got *Failure, want Failure) {
	t.Helper()
	if got == nil {
		t.Fatalf("succeeded, want %s %q", want.StatusCode, want.Message)
	}
	if *got != want {
		t.Fatalf("got %s %q, want %s %q", got.StatusCode, got.Message, want.StatusCode, want.Message)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
