package portal_test

import (
	"context"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/mail"
)

var anyLinkRE = regexp.MustCompile(`https?://[^\s"'<>)]+`)

// Every portal link in every email that carries one opens a page: 200, or
// for pages that need a customer a redirect to sign-in and then 200 once
// signed in — never 404.
func TestEmailLinksOpenPages(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := context.Background()
	e := s.e
	set, err := e.Nodes[0].Settings.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := e.Nodes[0].Outbound.Mailer
	idb := e.DB.Bun
	cu := s.cora
	steps := []struct {
		name string
		send func() error
	}{
		{"confirmation", func() error { return m.EmailConfirmation(ctx, idb, set, cu, cu.Email) }},
		{"welcome", func() error { return m.Welcome(ctx, idb, set, cu, false) }},
		{"welcome with password", func() error { return m.Welcome(ctx, idb, set, cu, true) }},
		{"password reset", func() error { return m.PasswordReset(ctx, idb, set, cu) }},
		{"email changed", func() error { return m.EmailChanged(ctx, idb, set, cu, cu.Email, "new@example.com") }},
		{"new device", func() error { return m.NewDeviceSignIn(ctx, idb, set, cu, "198.51.100.1", "test/1.0", time.Now()) }},
		{"license details", func() error { _, _, err := m.LicenseDetails(ctx, idb, set, s.coraLic.ID); return err }},
		{"expiry warning", func() error {
			_, err := m.ExpiryWarnings(ctx, idb, set, []mail.ExpiryWarning{{License: s.coraLic, Days: 7}})
			return err
		}},
	}
	base := e.Config.BaseURL
	for _, st := range steps {
		before := countRows(t, e, "SELECT coalesce(max(id), 0) FROM mail_messages")
		if err := st.send(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		var bodies []struct {
			HTML string `bun:"html_body"`
			Text string `bun:"text_body"`
		}
		if err := idb.NewRaw("SELECT coalesce(html_body, '') AS html_body, coalesce(text_body, '') AS text_body FROM mail_messages WHERE id > ?", before).Scan(ctx, &bodies); err != nil {
			t.Fatal(err)
		}
		if len(bodies) == 0 {
			t.Fatalf("%s: no message queued", st.name)
		}
		links := map[string]bool{}
		for _, b := range bodies {
			for _, l := range anyLinkRE.FindAllString(html.UnescapeString(b.HTML)+"\n"+b.Text, -1) {
				l = strings.TrimRight(l, ".,;")
				if strings.HasPrefix(l, base) {
					links[strings.TrimPrefix(l, base)] = true
				}
			}
		}
		portal := 0
		for path := range links {
			if !strings.HasPrefix(path, "/customer") {
				continue
			}
			portal++
			checkLink(t, s, st.name, path)
		}
		if portal == 0 {
			t.Errorf("%s: no portal link found in %d message(s)", st.name, len(bodies))
		}
	}
}

// checkLink opens path anonymously, then signed in when sign-in was asked
// for. Token links are opened with GET only, which does not use them up.
func checkLink(t *testing.T, s *shop, email, path string) {
	t.Helper()
	anon := s.e.Client(t)
	r := anon.Get(path)
	switch r.StatusCode {
	case 200:
		return
	case 303, 302:
		loc := r.Header.Get("Location")
		if strings.HasPrefix(loc, "/customer/login") && strings.Contains(path, "/email/verify/") {
			// Confirmation link: confirms and sends to sign-in.
			if r := anon.Get(loc); r.StatusCode != 200 {
				t.Errorf("%s: %s → %s: %d", email, path, loc, r.StatusCode)
			}
			return
		}
		if !strings.HasPrefix(loc, "/customer/login?next=") {
			t.Errorf("%s: anonymous %s: %d to %q", email, path, r.StatusCode, loc)
			return
		}
		c := mustSignIn(t, s.e, s.cora.Email)
		if r := c.Get(path); r.StatusCode != 200 {
			t.Errorf("%s: signed-in %s: %d\n%s", email, path, r.StatusCode, r.Body)
		}
	default:
		t.Errorf("%s: anonymous %s: %d", email, path, r.StatusCode)
	}
}
