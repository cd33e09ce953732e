package customers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/crypto/argon2"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/passwords"
	"github.com/licensor/licensor/app/ratelimit"
	"github.com/licensor/licensor/app/settings"
)

// The dummy hash must cost what a real one costs, or timing would tell
// unknown logins from wrong passwords.
func TestDummyHashUsesProductionParameters(t *testing.T) {
	t.Parallel()
	if passwords.NeedsRehash(dummyHash) {
		t.Fatal("dummyHash was made with other parameters than passwords.Hash uses; regenerate it")
	}
}

// oldHash is an argon2id hash of pw with weaker parameters than today's,
// as an older release (or an import) stored it.
func oldHash(t *testing.T, pw string) string {
	t.Helper()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	key := argon2.IDKey([]byte(pw), salt, 1, 8*1024, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, 8*1024, 1, 1, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// A sign-in with the right password replaces a hash made with older
// parameters (as admins.Authenticate does); a wrong password leaves it.
func TestAuthenticateUpgradesOldPasswordHashes(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := newService()
	set := settings.Defaults()
	old := oldHash(t, "correct horse battery")
	if !passwords.NeedsRehash(old) {
		t.Fatal("the test's old hash has today's parameters")
	}
	cu, err := s.Create(ctx, d.Bun, api, set, CreateParams{Name: "Ann Lee", Email: "ann@example.com", PasswordHash: old})
	if err != nil {
		t.Fatal(err)
	}
	in := SignIn{Login: "ann@example.com", IP: "203.0.113.5", UserAgent: "Firefox", Limiter: ratelimit.New(d.Bun, nil)}
	stored := func() string {
		t.Helper()
		got, err := Get(ctx, d.Bun, cu.ID)
		if err != nil {
			t.Fatal(err)
		}
		return *got.PasswordHash
	}

	in.Password = "wrong horse battery"
	if _, err := s.Authenticate(ctx, d.Bun, set, in); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if stored() != old {
		t.Fatal("a wrong password changed the stored hash")
	}

	in.Password = "correct horse battery"
	got, err := s.Authenticate(ctx, d.Bun, set, in)
	if err != nil {
		t.Fatal(err)
	}
	now := stored()
	if now == old || passwords.NeedsRehash(now) || *got.PasswordHash != now {
		t.Fatalf("hash after sign-in %q (returned %q), want today's parameters", now, *got.PasswordHash)
	}
	if ok, err := passwords.Verify(now, "correct horse battery"); err != nil || !ok {
		t.Fatalf("the new hash does not take the password: %v", err)
	}
	// Signing in again with today's hash writes nothing.
	if _, err := s.Authenticate(ctx, d.Bun, set, in); err != nil || stored() != now {
		t.Fatalf("second sign-in: %v, hash changed %v", err, stored() != now)
	}
}

// The rules of a portal sign-in: one answer for an unknown login and a
// wrong password, the customer with ErrUnconfirmed for the right password
// of an unconfirmed account, the lockout after login_max_attempts, every
// attempt in the history, and the new-device hook for a device not seen.
func TestAuthenticateRules(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	now := time.Now()
	var alerts []string
	s := NewService(func() time.Time { return now }, Hooks{NewDevice: func(_ context.Context, _ bun.IDB, _ *settings.Values, c *Customer, ip, ua string, at time.Time) error {
		alerts = append(alerts, fmt.Sprintf("%s %s %s %s", c.Email, ip, ua, at.Format(time.DateOnly)))
		return nil
	}})
	set := settings.Defaults()
	set.LoginMaxAttempts, set.NewDeviceAlerts = 3, true
	no := false
	if _, err := s.Create(ctx, d.Bun, api, set, CreateParams{Name: "Ann Lee", Email: "ann@example.com", ClientID: "ann-client", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, d.Bun, api, set, CreateParams{Name: "Bob Stone", Email: "bob@example.com", Password: "correct horse battery", Confirmed: &no}); err != nil {
		t.Fatal(err)
	}
	limiter := &ratelimit.Limiter{DB: d.Bun, Now: func() time.Time { return now }}
	try := func(login, pw, ip, ua string) (*Customer, error) {
		return s.Authenticate(ctx, d.Bun, set, SignIn{Login: login, Password: pw, IP: ip, UserAgent: ua, Limiter: limiter})
	}

	if _, err := try("nobody@example.com", "correct horse battery", "203.0.113.1", "Firefox"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("unknown login: %v", err)
	}
	if cu, err := try("bob@example.com", "correct horse battery", "203.0.113.1", "Firefox"); !errors.Is(err, ErrUnconfirmed) || cu == nil || cu.Email != "bob@example.com" {
		t.Fatalf("unconfirmed: %v, %v", cu, err)
	}
	// First sign-in: no alert (nothing to compare with).
	if cu, err := try("ann-client", "correct horse battery", "203.0.113.1", "Firefox"); err != nil || cu.Email != "ann@example.com" {
		t.Fatalf("sign-in by client ID: %v, %v", cu, err)
	}
	// Same device: no alert; another device: one alert.
	if _, err := try("ann@example.com", "correct horse battery", "203.0.113.1", "Firefox"); err != nil {
		t.Fatal(err)
	}
	if _, err := try("ann@example.com", "correct horse battery", "198.51.100.7", "Safari"); err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0] != "ann@example.com 198.51.100.7 Safari "+now.Format(time.DateOnly) {
		t.Fatalf("new-device alerts %q", alerts)
	}
	// Three wrong passwords lock the account, whichever login names it; the
	// right password is refused until the window ends.
	for range 3 {
		if _, err := try("ann@example.com", "wrong", "192.0.2.9", "curl"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	var locked *LockedOutError
	if _, err := try("ann-client", "correct horse battery", "192.0.2.9", "curl"); !errors.As(err, &locked) || locked.Wait <= 0 || locked.Wait > 15*time.Minute {
		t.Fatalf("after 3 failures: %v", err)
	}
	now = now.Add(time.Duration(set.LoginLockoutMinutes) * time.Minute)
	if _, err := try("ann@example.com", "correct horse battery", "192.0.2.9", "curl"); err != nil {
		t.Fatalf("after the window: %v", err)
	}

	var reasons []string
	if err := d.Bun.NewRaw("SELECT CASE WHEN success THEN 'ok' ELSE reason END FROM customer_logins ORDER BY id").Scan(ctx, &reasons); err != nil {
		t.Fatal(err)
	}
	want := "invalid_credentials unconfirmed ok ok ok invalid_credentials invalid_credentials invalid_credentials locked_out ok"
	if got := fmt.Sprint(reasons); got != "["+want+"]" {
		t.Fatalf("history %s, want [%s]", got, want)
	}
}
