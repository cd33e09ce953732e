package mail_test

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/mail/mailtest"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/views"
)

const baseURL = "https://licenses.example.com"

var system = audit.Source{Actor: audit.System}

type env struct {
	t      *testing.T
	db     *db.DB
	mailer *mail.Mailer
	set    *settings.Values
	now    time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	d := dbtest.New(t)
	q, err := jobqueue.New(d.SQL)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: d, now: time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)}
	e.mailer, err = mail.NewMailer(mail.Options{Queue: q, Views: views.FS, BaseURL: baseURL + "/", Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	set := *settings.Defaults()
	set.AppName = "Acme Licensing"
	e.set = &set
	return e
}

// inTx runs fn in a transaction, as every caller of the Mailer does.
func (e *env) inTx(fn func(ctx context.Context, tx bun.IDB) error) {
	e.t.Helper()
	if err := e.db.Bun.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error { return fn(ctx, tx) }); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) customer(name, email string) *customers.Customer {
	e.t.Helper()
	c, err := customers.NewService(nil, customers.Hooks{}).Create(context.Background(), e.db.Bun, system, e.set, customers.CreateParams{Name: name, Email: email})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) license(email string, expires *time.Time) *licensing.License {
	e.t.Helper()
	ctx := context.Background()
	p, err := catalog.ByRef(ctx, e.db.Bun, "ACME")
	if errors.Is(err, catalog.ErrNotFound) {
		p, err = catalog.NewService(nil).CreateProduct(ctx, e.db.Bun, system, e.set, catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")})
	}
	if err != nil {
		e.t.Fatal(err)
	}
	in := licensing.LicenseInput{ProductReferenceID: fields.Some(p.ReferenceID), ExpiresAt: fields.Some(expires), UpdatesUntil: fields.Some[*time.Time](nil)}
	if email != "" {
		in.Email = fields.Some(&email)
	}
	l, err := licensing.NewService(licensing.Options{}).CreateLicense(ctx, e.db.Bun, system, e.set, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// deliverAll sends every queued message through sender.
func (e *env) deliverAll(sender *mail.Sender) {
	e.t.Helper()
	var ids []int64
	if err := e.db.Bun.NewRaw("SELECT id FROM mail_messages WHERE status = 'queued' ORDER BY id").Scan(context.Background(), &ids); err != nil {
		e.t.Fatal(err)
	}
	for _, id := range ids {
		if err := sender.Deliver(context.Background(), id, false); err != nil {
			e.t.Fatalf("deliver %d: %v", id, err)
		}
	}
}

var linkRE = regexp.MustCompile(`https://licenses\.example\.com/[^\s"<>]*`)

// links returns the links of the text part, each of which must appear in
// the HTML part too.
func links(t *testing.T, r mailtest.Received) []string {
	t.Helper()
	ls := linkRE.FindAllString(r.Text, -1)
	for _, l := range ls {
		if !strings.Contains(r.HTML, l) {
			t.Errorf("%q: link %s in the text part only", r.Subject, l)
		}
	}
	return ls
}

func tokenOf(t *testing.T, link, prefix string) string {
	t.Helper()
	tok, ok := strings.CutPrefix(link, baseURL+prefix+"/")
	if !ok || tok == "" || strings.Contains(tok, "/") {
		t.Fatalf("link %s is not %s/{token}", link, prefix)
	}
	return tok
}

func TestEveryEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	srv := mailtest.Start(t)
	smtp, err := mail.ParseSMTPURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	sender := mail.NewSender(e.db.Bun, smtp, nil)

	ann := e.customer("Ann Lee", "ann@example.com")
	expires := e.now.Add(7 * 24 * time.Hour)
	lic := e.license("buyer@example.com", &expires)

	e.inTx(func(ctx context.Context, tx bun.IDB) error {
		if err := e.mailer.EmailConfirmation(ctx, tx, e.set, ann, "ann.new@example.com"); err != nil {
			return err
		}
		if err := e.mailer.Welcome(ctx, tx, e.set, ann, false); err != nil {
			return err
		}
		if err := e.mailer.PasswordReset(ctx, tx, e.set, ann); err != nil {
			return err
		}
		if n, err := e.mailer.ExpiryWarnings(ctx, tx, e.set, []mail.ExpiryWarning{{License: lic, Days: 7}}); err != nil || n != 1 {
			t.Errorf("expiry warnings queued %d, %v", n, err)
		}
		if n, skipped, err := e.mailer.LicenseDetails(ctx, tx, e.set, lic.ID); err != nil || n != 1 || len(skipped) != 0 {
			t.Errorf("license details queued %d, skipped %v, %v", n, skipped, err)
		}
		return e.mailer.NewDeviceSignIn(ctx, tx, e.set, ann, "203.0.113.7", "Firefox/130", e.now)
	})
	e.deliverAll(sender)
	got := srv.Wait(6, 5*time.Second)

	bySubject := map[string]mailtest.Received{}
	for _, r := range got {
		bySubject[r.Subject] = r
		if r.From != "no-reply@licenses.example.com" || !strings.Contains(r.Header.Get("From"), "Acme Licensing") {
			t.Errorf("%q: from %q / %q", r.Subject, r.From, r.Header.Get("From"))
		}
		if !strings.Contains(r.HTML, "<html") || !strings.Contains(r.HTML, "Acme Licensing") || !strings.Contains(r.Text, "Acme Licensing") {
			t.Errorf("%q: layout or app name missing", r.Subject)
		}
		if !strings.HasSuffix(r.MessageID, "@licenses.example.com") {
			t.Errorf("%q: Message-ID %q", r.Subject, r.MessageID)
		}
	}
	want := func(subject string, to string) mailtest.Received {
		t.Helper()
		r, ok := bySubject[subject]
		if !ok {
			t.Fatalf("no email %q; got %v", subject, keys(bySubject))
		}
		if len(r.To) != 1 || r.To[0] != to {
			t.Errorf("%q went to %v, want %s", subject, r.To, to)
		}
		return r
	}

	r := want("Confirm your email address", "ann.new@example.com")
	ls := links(t, r)
	tok, err := customers.ConsumeToken(ctx, e.db.Bun, tokenOf(t, ls[0], "/customer/email/verify"), e.now.Add(23*time.Hour), customers.TokenEmailVerification)
	if err != nil || tok.CustomerID != ann.ID || tok.Email != "ann.new@example.com" {
		t.Errorf("confirmation link token: %+v %v", tok, err)
	}

	r = want("Welcome to Acme Licensing", "ann@example.com")
	if !strings.Contains(r.Text, ann.ClientID) {
		t.Error("welcome email does not give the client ID")
	}
	ls = links(t, r)
	if _, err := customers.ConsumeToken(ctx, e.db.Bun, tokenOf(t, ls[0], "/customer/password/reset"), e.now.Add(6*24*time.Hour), customers.TokenPasswordSet); err != nil {
		t.Errorf("welcome set-password link (valid 7 days): %v", err)
	}

	r = want("Reset your password", "ann@example.com")
	ls = links(t, r)
	// Using the welcome link cancelled this one (any password link cancels
	// the others).
	if _, err := customers.ConsumeToken(ctx, e.db.Bun, tokenOf(t, ls[0], "/customer/password/reset"), e.now.Add(time.Minute), customers.TokenPasswordReset); !errors.Is(err, customers.ErrTokenInvalid) {
		t.Errorf("reset link after the set-password link was used: %v", err)
	}

	r = want("Your Acme CMS license expires in 7 days", "buyer@example.com")
	if !strings.Contains(r.Text, lic.LicenseCode) || !strings.Contains(r.Text, expires.Format("2006-01-02")) {
		t.Errorf("expiry warning lacks code or date:\n%s", r.Text)
	}
	if ls := links(t, r); len(ls) == 0 || ls[len(ls)-1] != baseURL+"/customer/product-licenses/"+itoa(lic.ID) {
		t.Errorf("expiry warning links %v", ls)
	}

	r = want("Your Acme CMS license details", "buyer@example.com")
	for _, s := range []string{lic.LicenseCode, "Acme CMS", expires.Format("2006-01-02"), "Unlimited"} {
		if !strings.Contains(r.Text, s) || !strings.Contains(r.HTML, s) {
			t.Errorf("license details lack %q", s)
		}
	}
	if ls := links(t, r); ls[len(ls)-1] != baseURL+"/customer/product-licenses/"+itoa(lic.ID) {
		t.Errorf("license details links %v", ls)
	}

	r = want("New sign-in to your account", "ann@example.com")
	if !strings.Contains(r.Text, "203.0.113.7") || !strings.Contains(r.Text, "Firefox/130") {
		t.Errorf("new-device alert lacks IP or browser:\n%s", r.Text)
	}
	ls = links(t, r)
	if !contains(ls, baseURL+"/customer/password/forgot") || !contains(ls, baseURL+"/customer/settings") {
		t.Errorf("new-device links %v", ls)
	}

	// The rows are marked sent, with the Message-ID the server saw.
	msgs, total, err := mail.List(ctx, e.db.Bun, mail.Filter{Status: mail.StatusSent}, listingAll)
	if err != nil || total != 6 {
		t.Fatalf("sent rows %d %v", total, err)
	}
	for _, m := range msgs {
		if bySubject[m.Subject].MessageID != m.MessageID() {
			t.Errorf("%q: Message-ID %q, row says %q", m.Subject, bySubject[m.Subject].MessageID, m.MessageID())
		}
	}
}

func TestWelcomeEmailSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := mailtest.Start(t)
	smtp, _ := mail.ParseSMTPURL(srv.URL())
	bob := e.customer("Bob Stone", "bob@example.com")

	off := *e.set
	off.SendWelcomeEmail = false
	e.inTx(func(ctx context.Context, tx bun.IDB) error { return e.mailer.Welcome(ctx, tx, &off, bob, false) })
	// With a password the email links to the sign-in page and creates no
	// token.
	e.inTx(func(ctx context.Context, tx bun.IDB) error { return e.mailer.Welcome(ctx, tx, e.set, bob, true) })
	e.deliverAll(mail.NewSender(e.db.Bun, smtp, nil))
	got := srv.Wait(1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("%d emails with send_welcome_email off then on", len(got))
	}
	if ls := links(t, got[0]); !contains(ls, baseURL+"/customer/login") {
		t.Errorf("welcome with a password: links %v", ls)
	}
	var tokens int
	if err := e.db.Bun.NewRaw("SELECT count(*) FROM customer_tokens").Scan(context.Background(), &tokens); err != nil || tokens != 0 {
		t.Errorf("%d tokens for a customer with a password", tokens)
	}
}

func TestQueueRollsBackWithItsTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ann := e.customer("Ann Lee", "ann@example.com")
	boom := errors.New("the change failed")
	err := e.db.Bun.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
		if err := e.mailer.PasswordReset(ctx, tx, e.set, ann); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	var rows, jobs int
	ctx := context.Background()
	_ = e.db.Bun.NewRaw("SELECT count(*) FROM mail_messages").Scan(ctx, &rows)
	_ = e.db.Bun.NewRaw("SELECT count(*) FROM river_job").Scan(ctx, &jobs)
	if rows != 0 || jobs != 0 {
		t.Fatalf("after rollback: %d messages, %d jobs", rows, jobs)
	}
	e.inTx(func(ctx context.Context, tx bun.IDB) error { return e.mailer.PasswordReset(ctx, tx, e.set, ann) })
	_ = e.db.Bun.NewRaw("SELECT count(*) FROM mail_messages").Scan(ctx, &rows)
	_ = e.db.Bun.NewRaw("SELECT count(*) FROM river_job WHERE kind = 'send_mail'").Scan(ctx, &jobs)
	if rows != 1 || jobs != 1 {
		t.Fatalf("after commit: %d messages, %d jobs", rows, jobs)
	}
}

// queueOne queues a password reset for a new customer and returns the
// message id.
func (e *env) queueOne(email string) int64 {
	e.t.Helper()
	c := e.customer("Someone", email)
	e.inTx(func(ctx context.Context, tx bun.IDB) error { return e.mailer.PasswordReset(ctx, tx, e.set, c) })
	var id int64
	if err := e.db.Bun.NewRaw("SELECT max(id) FROM mail_messages").Scan(context.Background(), &id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) message(id int64) *mail.Message {
	e.t.Helper()
	m, err := mail.Get(context.Background(), e.db.Bun, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func TestDeliverySendsOnceAndRetriesFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	srv := mailtest.Start(t, mailtest.WithAuth("mailer", "s3cret"))
	smtp, err := mail.ParseSMTPURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	sender := mail.NewSender(e.db.Bun, smtp, nil)

	t.Run("sent once however often the job runs", func(t *testing.T) {
		id := e.queueOne("once@example.com")
		for range 3 {
			if err := sender.Deliver(ctx, id, false); err != nil {
				t.Fatal(err)
			}
		}
		if n := countTo(srv, "once@example.com"); n != 1 {
			t.Fatalf("received %d times", n)
		}
		if m := e.message(id); m.Status != mail.StatusSent || m.Attempts != 1 || m.SentAt == nil {
			t.Fatalf("%+v", m)
		}
	})

	t.Run("server down, then up", func(t *testing.T) {
		id := e.queueOne("down@example.com")
		srv.Stop()
		if err := sender.Deliver(ctx, id, false); err == nil {
			t.Fatal("delivered with the server down")
		}
		if m := e.message(id); m.Status != mail.StatusQueued || m.Attempts != 1 || m.LastError == nil {
			t.Fatalf("after a failed attempt: %+v", m)
		}
		srv.Restart()
		if err := sender.Deliver(ctx, id, false); err != nil {
			t.Fatal(err)
		}
		if n := countTo(srv, "down@example.com"); n != 1 {
			t.Fatalf("received %d times", n)
		}
	})

	t.Run("temporary refusal", func(t *testing.T) {
		id := e.queueOne("later@example.com")
		srv.RefuseNext(1)
		if err := sender.Deliver(ctx, id, false); err == nil {
			t.Fatal("a 451 counted as delivered")
		}
		var perm *mail.PermanentError
		if err := sender.Deliver(ctx, id, false); err != nil || errors.As(err, &perm) {
			t.Fatal(err)
		}
		if m := e.message(id); m.Status != mail.StatusSent || m.Attempts != 2 {
			t.Fatalf("%+v", m)
		}
	})

	t.Run("lost acknowledgement: sent again with the same Message-ID", func(t *testing.T) {
		id := e.queueOne("lost@example.com")
		srv.DropAckNext(1)
		if err := sender.Deliver(ctx, id, false); err == nil {
			t.Fatal("no error when the acknowledgement was lost")
		}
		if err := sender.Deliver(ctx, id, false); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range srv.Messages() {
			if r.To[0] == "lost@example.com" {
				ids = append(ids, r.MessageID)
			}
		}
		if len(ids) != 2 || ids[0] != ids[1] || ids[0] != e.message(id).MessageID() {
			t.Fatalf("Message-IDs of the two copies: %v", ids)
		}
	})

	t.Run("permanent refusal", func(t *testing.T) {
		id := e.queueOne("nobody@example.com")
		srv.RejectRecipient("nobody@example.com")
		var perm *mail.PermanentError
		if err := sender.Deliver(ctx, id, false); !errors.As(err, &perm) {
			t.Fatalf("550 for the recipient: %v", err)
		}
		if m := e.message(id); m.Status != mail.StatusFailed {
			t.Fatalf("%+v", m)
		}
	})

	t.Run("last attempt", func(t *testing.T) {
		id := e.queueOne("last@example.com")
		srv.RefuseNext(1)
		if err := sender.Deliver(ctx, id, true); err == nil {
			t.Fatal("no error")
		}
		if m := e.message(id); m.Status != mail.StatusFailed {
			t.Fatalf("failed last attempt left %s", m.Status)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		id := e.queueOne("auth@example.com")
		bad, err := mail.ParseSMTPURL("smtp://mailer:wrong@" + srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if err := mail.NewSender(e.db.Bun, bad, nil).Deliver(ctx, id, false); err == nil {
			t.Fatal("delivered with a wrong password")
		}
		if m := e.message(id); m.Status != mail.StatusQueued {
			t.Fatalf("a refused login is worth a retry (the password gets fixed): %s", m.Status)
		}
	})

	t.Run("deleted message", func(t *testing.T) {
		if err := sender.Deliver(ctx, 987654, false); !errors.Is(err, mail.ErrGone) {
			t.Fatalf("%v", err)
		}
	})
}

func TestOutboxWithoutSMTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.queueOne("outbox@example.com")
	sender := mail.NewSender(e.db.Bun, nil, nil)
	if !sender.Outbox() {
		t.Fatal("no transport is the outbox")
	}
	if err := sender.Deliver(context.Background(), id, false); err != nil {
		t.Fatal(err)
	}
	m := e.message(id)
	if m.Status != mail.StatusOutbox || m.Attempts != 0 || !strings.Contains(m.HTMLBody, "Reset password") {
		t.Fatalf("%+v", m)
	}
	list, total, err := mail.List(context.Background(), e.db.Bun, mail.Filter{Search: "outbox@"}, listingAll)
	if err != nil || total != 1 || list[0].HTMLBody != "" {
		t.Fatalf("list: %d %v (bodies are left out of lists)", total, err)
	}
	// Retention keeps queued messages, deletes the rest.
	n, err := mail.DeleteBefore(context.Background(), e.db.Bun, time.Now().Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("deleted %d %v", n, err)
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"smtp://127.0.0.1:2525", "smtp://127.0.0.1:2525", true},
		{"smtp://relay.local", "smtp://relay.local:25", true},
		{"smtp://user:p%40ss@mail.example.com", "smtp://mail.example.com:587", true},
		{"smtps://user:pass@mail.example.com", "smtps://mail.example.com:465", true},
		{"smtp://mail.example.com:587?starttls=required", "smtp://mail.example.com:587", true},
		{"smtp://mail.example.com?starttls=sometimes", "", false},
		{"http://mail.example.com", "", false},
		{"smtp://:25", "", false},
		{"smtp://mail.example.com:99999", "", false},
	} {
		s, err := mail.ParseSMTPURL(c.in)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v", c.in, err)
			continue
		}
		if c.ok && s.String() != c.want {
			t.Errorf("%s: %s, want %s", c.in, s, c.want)
		}
		if c.ok && strings.Contains(s.String(), "pass") {
			t.Errorf("%s: String shows the password", c.in)
		}
	}
}

func countTo(srv *mailtest.Server, to string) int {
	n := 0
	for _, r := range srv.Messages() {
		if len(r.To) == 1 && r.To[0] == to {
			n++
		}
	}
	return n
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func keys(m map[string]mailtest.Received) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

var listingAll = listing.Page{Number: 1, PerPage: 100}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The templates parse at the first email, not in NewMailer (a start sends
// none): a set without them makes a Mailer whose emails fail, each with
// the template's name and nothing queued.
func TestTemplatesParseAtFirstEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	q, err := jobqueue.New(e.db.SQL)
	if err != nil {
		t.Fatal(err)
	}
	broken, err := mail.NewMailer(mail.Options{Queue: q, Views: fstest.MapFS{}, BaseURL: baseURL})
	if err != nil {
		t.Fatalf("NewMailer over a set without emails: %v", err)
	}
	ann := e.customer("Ann Lee", "ann@example.com")
	for range 2 {
		err := e.db.Bun.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
			return broken.PasswordReset(ctx, tx, e.set, ann)
		})
		if err == nil || !strings.Contains(err.Error(), "emails/layout.html") {
			t.Fatalf("an email without its templates: %v", err)
		}
	}
	var rows int
	if err := e.db.Bun.NewRaw("SELECT count(*) FROM mail_messages").Scan(context.Background(), &rows); err != nil || rows != 0 {
		t.Fatalf("%d messages queued (%v)", rows, err)
	}
	if _, err := mail.NewMailer(mail.Options{Queue: q, BaseURL: baseURL}); err == nil {
		t.Fatal("NewMailer without views: no error")
	}
}
