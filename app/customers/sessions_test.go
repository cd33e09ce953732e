package customers

import (
	"context"
	"testing"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/passwords"
	"github.com/licensor/licensor/app/sessions"
	"github.com/licensor/licensor/app/settings"
)

// A password or email change ends the customer's sessions whoever makes
// it (issue 15 point 12): the same Update serves the console, the portal,
// the internal API and imports (a password hash from an export). Sending
// the same values again (an import of an unchanged row) ends nothing; the
// portal's own change keeps the session that made it.
func TestCredentialChangeEndsSessions(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	set := settings.Defaults()
	svc := NewService(nil, Hooks{})
	cu, err := svc.Create(ctx, d.Bun, api, set, CreateParams{Name: "Cora", Email: "cora@example.com", Password: "cobalt fern window 88"})
	if err != nil {
		t.Fatal(err)
	}
	owner := sessions.CustomerOwner(cu.ID)
	live := func() int {
		t.Helper()
		list, err := sessions.List(ctx, d.Bun, owner, sessions.Lifetimes{})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	start := func() *sessions.Session {
		s, err := sessions.Start(ctx, d.Bun, owner, "10.0.0.1", "test", false)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	start()
	start()
	if _, err := svc.Update(ctx, d.Bun, api, set, cu.ID, UpdateParams{Name: fields.Some("Cora C"), Email: fields.Some("CORA@example.com")}); err != nil {
		t.Fatal(err)
	}
	if n := live(); n != 2 {
		t.Fatalf("a name change and the same email in other case ended sessions: %d left", n)
	}
	if _, err := svc.Update(ctx, d.Bun, api, set, cu.ID, UpdateParams{PasswordHash: fields.Some(*cu.PasswordHash)}); err != nil {
		t.Fatal(err)
	}
	if n := live(); n != 2 {
		t.Fatalf("an import of the same password hash ended sessions: %d left", n)
	}
	other, err := passwords.Hash("another passphrase 77")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, d.Bun, api, set, cu.ID, UpdateParams{PasswordHash: fields.Some(other)}); err != nil {
		t.Fatal(err)
	}
	if n := live(); n != 0 {
		t.Fatalf("an imported new password hash left %d sessions", n)
	}
	keep := start()
	start()
	if _, err := svc.Update(ctx, d.Bun, api, set, cu.ID, UpdateParams{Email: fields.Some("cora.new@example.com"), KeepSession: keep.ID}); err != nil {
		t.Fatal(err)
	}
	if list, _ := sessions.List(ctx, d.Bun, owner, sessions.Lifetimes{}); len(list) != 1 || list[0].ID != keep.ID {
		t.Fatalf("an email change kept %+v, want the one session asked to keep", list)
	}
}
