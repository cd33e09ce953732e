package admins_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/sessions"
	"github.com/licensor/licensor/app/twofactor"
)

// The account page's and the users page's security changes log their
// line in the change's transaction, and only when the change happened.
func TestSecurityChangesAreLogged(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	ann, err := admins.Create(ctx, d.Bun, "Ann", "ann@example.com", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := admins.Create(ctx, d.Bun, "Bob", "bob@example.com", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_900_000_005, 0)
	tf := twofactor.New([]byte("instance secret"), func() time.Time { return now })
	by := audit.Source{Actor: audit.Actor{Type: audit.ActorAdmin, ID: &ann.ID, Name: ann.Name}, IP: "192.0.2.1"}
	lines := func() []string {
		t.Helper()
		var msgs []string
		if err := d.Bun.NewRaw("SELECT type || ': ' || message FROM activity_log WHERE actor_name = 'Ann' ORDER BY id").Scan(ctx, &msgs); err != nil {
			t.Fatal(err)
		}
		return msgs
	}

	en, err := tf.Begin(ctx, d.Bun, twofactor.AdminAccount(ann.ID), "Licensor", ann.Email)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admins.ConfirmTwoFactor(ctx, d.Bun, tf, by, ann, "000000"); !errors.Is(err, twofactor.ErrInvalidCode) {
		t.Fatalf("wrong code: %v", err)
	}
	code, err := totp.GenerateCode(en.Secret, now)
	if err != nil {
		t.Fatal(err)
	}
	if codes, err := admins.ConfirmTwoFactor(ctx, d.Bun, tf, by, ann, code); err != nil || len(codes) != 10 {
		t.Fatalf("confirm: %d codes, %v", len(codes), err)
	}
	if codes, err := admins.NewRecoveryCodes(ctx, d.Bun, tf, by, ann); err != nil || len(codes) != 10 {
		t.Fatalf("new codes: %d, %v", len(codes), err)
	}
	if err := admins.DisableTwoFactor(ctx, d.Bun, tf, by, ann); err != nil {
		t.Fatal(err)
	}
	if had, err := admins.ResetTwoFactor(ctx, d.Bun, tf, by, bob); err != nil || had {
		t.Fatalf("reset of nothing: %v %v", had, err)
	}
	if err := admins.EndSession(ctx, d.Bun, by, ann, 12345); !errors.Is(err, sessions.ErrEnded) {
		t.Fatalf("ending no session: %v", err)
	}
	if n, err := admins.EndOtherSessions(ctx, d.Bun, by, ann, 0); err != nil || n != 0 {
		t.Fatalf("end others: %d %v", n, err)
	}
	if n, err := admins.SignOut(ctx, d.Bun, by, bob, 0); err != nil || n != 0 {
		t.Fatalf("sign out: %d %v", n, err)
	}
	if err := admins.RecordRefusal(ctx, d.Bun, by, ann, admins.Refusal{
		Permission: admins.SettingsAPI, Method: "POST", Path: "/admin/settings/api", LogPath: "/admin/settings/api",
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"admin.two_factor_enabled: Admin Ann <ann@example.com> turned on two-factor sign-in.",
		"admin.recovery_codes: Admin Ann <ann@example.com> made new recovery codes.",
		"admin.two_factor_disabled: Admin Ann <ann@example.com> turned off two-factor sign-in.",
		"admin.sessions_ended: Admin Ann <ann@example.com> signed out their other sessions (0).",
		"admin.sessions_ended: Admin Bob <bob@example.com> signed out of 0 session(s) by Ann.",
		"access.denied: POST /admin/settings/api refused: the role Owner lacks " + string(admins.SettingsAPI) + ".",
	}
	if got := lines(); !slices.Equal(got, want) {
		t.Fatalf("activity log\n got %q\nwant %q", got, want)
	}
}
