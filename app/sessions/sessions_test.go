package sessions_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/sessions"
)

// age moves a session's times into the past on the database clock, as
// time passing would.
func age(t *testing.T, d *db.DB, id int64, lastSeen, created time.Duration) {
	t.Helper()
	if _, err := d.Bun.ExecContext(context.Background(),
		`UPDATE sessions SET last_seen_at = now() - make_interval(secs => ?), created_at = now() - make_interval(secs => ?) WHERE id = ?`,
		lastSeen.Seconds(), created.Seconds(), id); err != nil {
		t.Fatal(err)
	}
}

func TestLifetimes(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	a, err := admins.Create(ctx, d.Bun, "Ann", "ann@example.com", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	owner := sessions.AdminOwner(a.ID)
	lt := sessions.Lifetimes{Idle: 30 * time.Minute, RememberIdle: 2 * time.Hour, Absolute: 24 * time.Hour}
	start := func(remember bool) *sessions.Session {
		s, err := sessions.Start(ctx, d.Bun, owner, "10.0.0.1", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", remember)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	alive := func(s *sessions.Session) bool {
		t.Helper()
		_, err := sessions.Touch(ctx, d.Bun, owner, s.ID, lt, "10.0.0.1", s.UserAgent)
		if err != nil && !errors.Is(err, sessions.ErrEnded) {
			t.Fatal(err)
		}
		return err == nil
	}

	fresh := start(false)
	if !alive(fresh) {
		t.Fatal("a new session is not alive")
	}
	idle := start(false)
	age(t, d, idle.ID, 31*time.Minute, time.Hour)
	if alive(idle) {
		t.Error("a session idle past Idle is alive")
	}
	remembered := start(true)
	age(t, d, remembered.ID, 31*time.Minute, time.Hour)
	if !alive(remembered) {
		t.Error("a remembered session idle 31 minutes (RememberIdle 2 h) ended")
	}
	old := start(false)
	age(t, d, old.ID, time.Minute, 25*time.Hour)
	if alive(old) {
		t.Error("a session past its absolute lifetime is alive, though active")
	}
	// Another account's session is not this one's.
	b, err := admins.Create(ctx, d.Bun, "Bob", "bob@example.com", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sessions.Touch(ctx, d.Bun, sessions.AdminOwner(b.ID), fresh.ID, lt, "", ""); !errors.Is(err, sessions.ErrEnded) {
		t.Errorf("another admin's session: err = %v", err)
	}
	if _, err := sessions.Touch(ctx, d.Bun, sessions.CustomerOwner(a.ID), fresh.ID, lt, "", ""); !errors.Is(err, sessions.ErrEnded) {
		t.Errorf("an admin session as a customer's: err = %v", err)
	}

	// Touch notes a new address at once.
	got, err := sessions.Touch(ctx, d.Bun, owner, fresh.ID, lt, "10.0.0.9", fresh.UserAgent)
	if err != nil || got.IP != "10.0.0.9" {
		t.Fatalf("Touch from a new IP = %+v, %v", got, err)
	}
	list, err := sessions.List(ctx, d.Bun, owner, lt)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].IP != "10.0.0.9" {
		t.Errorf("List = %d sessions (first %+v), want the fresh and the remembered one, fresh first", len(list), list[0])
	}

	// End all but one; End of a gone session is ErrEnded.
	if n, err := sessions.EndAll(ctx, d.Bun, owner, fresh.ID); err != nil || n != 1 {
		t.Errorf("EndAll = %d, %v; want 1 (the remembered one)", n, err)
	}
	if !alive(fresh) {
		t.Error("EndAll ended the session it was to keep")
	}
	if err := sessions.End(ctx, d.Bun, owner, fresh.ID); err != nil {
		t.Fatal(err)
	}
	if err := sessions.End(ctx, d.Bun, owner, fresh.ID); !errors.Is(err, sessions.ErrEnded) {
		t.Errorf("End twice: %v", err)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	a, err := admins.Create(ctx, d.Bun, "Ann", "ann@example.com", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	owner := sessions.AdminOwner(a.ID)
	keep, _ := sessions.Start(ctx, d.Bun, owner, "", "", false)
	gone, _ := sessions.Start(ctx, d.Bun, owner, "", "", false)
	age(t, d, gone.ID, 2*time.Hour, 2*time.Hour)
	n, err := sessions.Prune(ctx, d.Bun, sessions.Admin, sessions.Lifetimes{Idle: time.Hour})
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	if list, _ := sessions.List(ctx, d.Bun, owner, sessions.Lifetimes{}); len(list) != 1 || list[0].ID != keep.ID {
		t.Errorf("after Prune: %+v", list)
	}
}

func TestDevice(t *testing.T) {
	t.Parallel()
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0":                                                                  "Firefox 128 on Linux",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36":                   "Chrome 126 on macOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1": "Safari 17 on iOS",
		"":           "Unknown device",
		"curl/8.5.0": "curl/8.5.0",
	} {
		if got := sessions.Device(ua); got != want {
			t.Errorf("Device(%q) = %q, want %q", ua, got, want)
		}
	}
}
