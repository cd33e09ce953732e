package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/server/servertest"
)

func seedEntry(t *testing.T, e *servertest.Env, typ string, actor audit.Actor, ip, msg string, subject *audit.Subject, at time.Time) {
	t.Helper()
	if err := audit.Record(context.Background(), e.DB.Bun, audit.Entry{Type: typ, Actor: actor, IP: ip, Message: msg, Subject: subject, At: at}); err != nil {
		t.Fatal(err)
	}
}

func TestActivityList(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	// Signing in may itself log; start from an empty log.
	if _, err := e.DB.Bun.NewRaw("DELETE FROM activity_log").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := c.Get("/admin/activity"); r.StatusCode != 200 || !strings.Contains(r.Body, "No activity yet") {
		t.Fatalf("empty list: %d\n%s", r.StatusCode, r.Body)
	}
	id := int64(7)
	day := func(d int) time.Time { return time.Date(2026, 3, d, 12, 0, 0, 0, time.UTC) }
	seedEntry(t, e, "license.created", audit.Actor{Type: audit.ActorAdmin, ID: &id, Name: "Root Admin"}, "203.0.113.9",
		"Alpha license created via console.", &audit.Subject{Type: audit.SubjectLicense, ID: 42}, day(1))
	seedEntry(t, e, "api_key.created", audit.Actor{Type: audit.ActorAPIKey, Name: "Shop key"}, "",
		"Bravo key created via API.", nil, day(5))
	seedEntry(t, e, "expiry.scan", audit.System, "", "Charlie scan ran by the system.", &audit.Subject{Type: audit.SubjectSettings, ID: 1}, day(10))

	r := c.Get("/admin/activity")
	for _, want := range []string{"Alpha license", "Bravo key", "Charlie scan", "Root Admin", "Shop key", "203.0.113.9",
		`href="/admin/licenses/42"`, "2026-03-01 12:00:00", `<option value="expiry.scan"`, `aria-current="page"`} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("list lacks %q:\n%s", want, r.Body)
		}
	}
	if strings.Count(r.Body, ">View</a>") != 1 {
		t.Error("only the license entry should link to its subject")
	}
	if strings.Index(r.Body, "Charlie") > strings.Index(r.Body, "Alpha") {
		t.Error("not newest first")
	}
	has := func(body string, want ...string) {
		t.Helper()
		for _, m := range []string{"Alpha license", "Bravo key", "Charlie scan"} {
			if strings.Contains(body, m) != contains(want, m) {
				t.Errorf("want only %v listed\n%s", want, body)
				return
			}
		}
	}
	has(c.Get("/admin/activity?q=bravo", "HX-Request", "true").Body, "Bravo key")
	has(c.Get("/admin/activity?type=license.created").Body, "Alpha license")
	has(c.Get("/admin/activity?actor=system").Body, "Charlie scan")
	has(c.Get("/admin/activity?actor=api_key").Body, "Bravo key")
	has(c.Get("/admin/activity?from=2026-03-05").Body, "Bravo key", "Charlie scan")
	has(c.Get("/admin/activity?to=2026-03-05").Body, "Alpha license", "Bravo key")
	has(c.Get("/admin/activity?from=2026-03-02&to=2026-03-09").Body, "Bravo key")
	has(c.Get("/admin/activity?actor=bogus&from=nope").Body, "Alpha license", "Bravo key", "Charlie scan")
	if r := c.Get("/admin/activity?type=nothing.here"); !strings.Contains(r.Body, "No entries match") {
		t.Error("no filtered empty state")
	}
	if r := c.Get("/admin/activity?q=bravo", "HX-Request", "true"); strings.Contains(r.Body, "<html") {
		t.Error("htmx should get the results alone")
	}
}

func TestActivityPagination(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	if _, err := e.DB.Bun.NewRaw("DELETE FROM activity_log").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 60 {
		seedEntry(t, e, "test.entry", audit.System, "", fmt.Sprintf("Entry number %03d.", i), nil, base.Add(time.Duration(i)*time.Minute))
	}
	r := c.Get("/admin/activity?per_page=50")
	if !strings.Contains(r.Body, "Entry number 059.") || strings.Contains(r.Body, "Entry number 009.") || !strings.Contains(r.Body, "Showing 1–50 of 60") {
		t.Fatalf("page 1:\n%s", r.Body)
	}
	r = c.Get("/admin/activity?page=2&per_page=50")
	if !strings.Contains(r.Body, "Entry number 009.") || strings.Contains(r.Body, "Entry number 059.") || !strings.Contains(r.Body, "Showing 51–60 of 60") {
		t.Fatalf("page 2:\n%s", r.Body)
	}
	// The page size is remembered for the list: without per_page the
	// next visit shows 50 again.
	if r = c.Get("/admin/activity"); !strings.Contains(r.Body, "Showing 1–50 of 60") {
		t.Fatalf("page size not remembered:\n%s", r.Body)
	}
}

func TestActivityNeedsAdmin(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	anon := e.Client(t)
	if r := anon.Get("/admin/activity"); r.StatusCode != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login?next=") {
		t.Errorf("anonymous GET: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestActivitySortAndBulkDelete(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	if _, err := e.DB.Bun.NewRaw("DELETE FROM activity_log").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2026, 3, d, 12, 0, 0, 0, time.UTC) }
	seedEntry(t, e, "b.second", audit.System, "", "Alpha entry.", nil, day(1))
	seedEntry(t, e, "a.first", audit.System, "", "Bravo entry.", nil, day(2))
	seedEntry(t, e, "c.third", audit.System, "", "Charlie entry.", nil, day(3))
	order := func(path string, want ...string) {
		t.Helper()
		body := c.Get(path).Body
		for i := 1; i < len(want); i++ {
			if a, b := strings.Index(body, want[i-1]), strings.Index(body, want[i]); a < 0 || b < 0 || a > b {
				t.Errorf("%s: want %v in that order", path, want)
				return
			}
		}
	}
	order("/admin/activity", "Charlie", "Bravo", "Alpha")
	order("/admin/activity?sort=created_at", "Alpha", "Bravo", "Charlie")
	order("/admin/activity?sort=type", "Bravo", "Alpha", "Charlie")
	order("/admin/activity?sort=-type", "Charlie", "Alpha", "Bravo")
	r := c.Get("/admin/activity?sort=type")
	if !strings.Contains(r.Body, `aria-sort="ascending"`) || !strings.Contains(r.Body, `name="ids"`) || !strings.Contains(r.Body, `formaction="/admin/activity/bulk-delete?sort=type"`) {
		t.Fatalf("no sort state or selection:\n%s", r.Body)
	}

	var ids []int64
	if err := e.DB.Bun.NewRaw("SELECT id FROM activity_log WHERE type IN ('a.first', 'b.second')").Scan(context.Background(), &ids); err != nil {
		t.Fatal(err)
	}
	r = c.PostForm("/admin/activity/bulk-delete", url.Values{"ids": {fmt.Sprint(ids[0]), fmt.Sprint(ids[1])}, "back": {"/admin/activity?sort=type"}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/activity?sort=type" {
		t.Fatalf("bulk delete: %d", r.StatusCode)
	}
	r = c.Get("/admin/activity")
	if !strings.Contains(r.Body, "Deleted 2 entries.") || strings.Contains(r.Body, "Alpha entry") || !strings.Contains(r.Body, "Charlie entry") ||
		!strings.Contains(r.Body, "2 entries deleted from the activity log via console.") {
		t.Errorf("after bulk delete:\n%s", r.Body)
	}
	r = c.PostForm("/admin/activity/bulk-delete", url.Values{})
	if r = c.Get(r.Header.Get("Location")); !strings.Contains(r.Body, "Select the entries first.") {
		t.Error("empty selection not refused")
	}

	anon := e.Client(t)
	anon.GetCSRF("/admin/login")
	if r := anon.PostForm("/admin/activity/bulk-delete", url.Values{"ids": {"1"}}); r.StatusCode != 302 {
		t.Errorf("anonymous bulk delete: %d", r.StatusCode)
	}
	c.CSRF = ""
	if r := c.PostForm("/admin/activity/bulk-delete", url.Values{"ids": {"1"}}); r.StatusCode != 403 {
		t.Errorf("bulk delete without token: %d", r.StatusCode)
	}
}
