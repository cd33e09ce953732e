package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
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
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/webhooks"
)

const secret = "whsec-test"

var system = audit.Source{Actor: audit.System}

// receiver is a loopback HTTPS endpoint answering with the queued statuses
// (then 200) and recording every request.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	delay    time.Duration
	got      []request
}

type request struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, request{req.Header.Clone(), body})
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		delay := r.delay
		r.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-req.Context().Done():
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"received":true}`))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}

type env struct {
	t         *testing.T
	db        *db.DB
	store     *settings.Store
	emitter   *webhooks.Emitter
	deliverer *webhooks.Deliverer
	licenses  *licensing.Service
	product   *catalog.Product
}

func newEnv(t *testing.T, recv *receiver, changes map[string]string) *env {
	t.Helper()
	d := dbtest.New(t)
	ctx := context.Background()
	q, err := jobqueue.New(d.SQL)
	if err != nil {
		t.Fatal(err)
	}
	store, err := settings.NewStore(d.Bun, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"enable_webhooks": "true", "webhook_url": recv.URL + "/hooks", "webhook_secret": secret}
	for k, v := range changes {
		base[k] = v
	}
	if _, err := settings.Set(ctx, d.Bun, system, base); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: d, store: store}
	e.emitter = webhooks.NewEmitter(q, store, "https://licenses.example.com", nil)
	e.deliverer = webhooks.NewDeliverer(d.Bun, recv.Client(), store, nil)
	e.licenses = licensing.NewService(licensing.Options{Hooks: e.emitter.LicensingHooks()})
	e.product, err = catalog.NewService(nil).CreateProduct(ctx, d.Bun, system, settings.Defaults(), catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) createLicense(code string) *licensing.License {
	e.t.Helper()
	var l *licensing.License
	err := e.db.Bun.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
		set, err := e.store.Get(ctx)
		if err != nil {
			return err
		}
		l, err = e.licenses.CreateLicense(ctx, tx, system, set, licensing.LicenseInput{
			ProductReferenceID: fields.Some("ACME"), LicenseCode: fields.Some(code),
		})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

func (e *env) deliveries() []webhooks.Delivery {
	e.t.Helper()
	ds, _, err := webhooks.List(context.Background(), e.db.Bun, webhooks.Filter{}, listing.Page{PerPage: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return ds
}

func (e *env) activity(typ string) []string {
	e.t.Helper()
	var msgs []string
	if err := e.db.Bun.NewRaw("SELECT message FROM activity_log WHERE type = ? ORDER BY id", typ).Scan(context.Background(), &msgs); err != nil {
		e.t.Fatal(err)
	}
	return msgs
}

func TestDeliveredOnceAfterA500(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, http.StatusInternalServerError)
	e := newEnv(t, recv, nil)
	ctx := context.Background()
	l := e.createLicense("LIC-500")

	ds := e.deliveries()
	if len(ds) != 1 || ds[0].Event != "license.created" || ds[0].Status != webhooks.StatusPending {
		t.Fatalf("deliveries %+v", ds)
	}
	var jobs int
	_ = e.db.Bun.NewRaw("SELECT count(*) FROM river_job WHERE kind = 'deliver_webhook' AND max_attempts = 8").Scan(ctx, &jobs)
	if jobs != 1 {
		t.Fatalf("%d deliver_webhook jobs with 8 attempts", jobs)
	}
	if len(recv.requests()) != 0 {
		t.Fatal("the receiver was called during the change's transaction")
	}

	id := ds[0].ID
	if err := e.deliverer.Deliver(ctx, id, 1, false); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("first attempt: %v", err)
	}
	if err := e.deliverer.Deliver(ctx, id, 1, false); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	// A later run of the job (a retry after a lost completion) sends nothing.
	if err := e.deliverer.Deliver(ctx, id, 1, false); err != nil {
		t.Fatal(err)
	}

	reqs := recv.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want the 500 and the 200", len(reqs))
	}
	for _, r := range reqs {
		if r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Webhook-Event") != "license.created" || r.header.Get("X-Webhook-Id") != id {
			t.Errorf("headers %v", r.header)
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(r.body)
		if r.header.Get("X-Webhook-Signature") != hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("signature %q does not verify", r.header.Get("X-Webhook-Signature"))
		}
		if string(r.body) != string(reqs[0].body) {
			t.Error("the retry sent another body")
		}
	}
	var env struct {
		EventType string                     `json:"event_type"`
		Timestamp string                     `json:"timestamp"`
		Payload   map[string]json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(reqs[0].body, &env); err != nil {
		t.Fatal(err)
	}
	if env.EventType != "license.created" || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$`).MatchString(env.Timestamp) {
		t.Errorf("envelope %s %s", env.EventType, env.Timestamp)
	}
	if !strings.HasPrefix(string(reqs[0].body), `{"event_type":"license.created","timestamp":"`) ||
		!strings.Contains(string(env.Payload["license"]), `"id":`+itoa(l.ID)+`,"product_reference_id":"ACME","product_name":"Acme CMS","license_code":"LIC-500"`) {
		t.Errorf("body %s", reqs[0].body)
	}

	d, attempts, err := webhooks.Get(ctx, e.db.Bun, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != webhooks.StatusSucceeded || d.Attempts != 2 || *d.LastStatusCode != 200 || d.CompletedAt == nil {
		t.Fatalf("delivery %+v", d)
	}
	if len(attempts) != 2 || *attempts[0].StatusCode != 500 || *attempts[1].StatusCode != 200 ||
		attempts[1].Attempt != 2 || *attempts[1].ResponseBody != `{"received":true}` || attempts[0].RequestHeaders["X-Webhook-Id"] != id {
		t.Fatalf("attempts %+v", attempts)
	}
	if msgs := e.activity("webhook.succeeded"); len(msgs) != 1 || msgs[0] != "Webhook license.created succeeded for license LIC-500 (Acme CMS)." {
		t.Fatalf("activity %q", msgs)
	}
}

func TestFinalFailureIsLogged(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, 500, 503)
	e := newEnv(t, recv, nil)
	ctx := context.Background()
	e.createLicense("LIC-FAIL")
	id := e.deliveries()[0].ID
	if err := e.deliverer.Deliver(ctx, id, 1, false); err == nil {
		t.Fatal("500 accepted")
	}
	if err := e.deliverer.Deliver(ctx, id, 1, true); err == nil {
		t.Fatal("503 accepted")
	}
	d, attempts, _ := webhooks.Get(ctx, e.db.Bun, id)
	if d.Status != webhooks.StatusFailed || len(attempts) != 2 {
		t.Fatalf("%+v, %d attempts", d, len(attempts))
	}
	if msgs := e.activity("webhook.failed"); len(msgs) != 1 || msgs[0] != "Webhook license.created failed for license LIC-FAIL (Acme CMS)." {
		t.Fatalf("activity %q", msgs)
	}

	// Re-send: the same X-Webhook-Id and body, a new round; a job of the
	// earlier round stands down.
	if err := e.db.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		set, _ := e.store.Get(ctx)
		return e.emitter.Resend(ctx, tx, audit.Source{Actor: audit.Actor{Type: audit.ActorAdmin, Name: "Ann"}}, set, id)
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.deliverer.Deliver(ctx, id, 1, false); err != nil {
		t.Fatal(err)
	}
	if n := len(recv.requests()); n != 2 {
		t.Fatalf("a job of round 1 sent after the re-send: %d requests", n)
	}
	if err := e.deliverer.Deliver(ctx, id, 2, false); err != nil {
		t.Fatal(err)
	}
	reqs := recv.requests()
	if len(reqs) != 3 || reqs[2].header.Get("X-Webhook-Id") != id || string(reqs[2].body) != string(reqs[0].body) {
		t.Fatalf("re-send: %d requests", len(reqs))
	}
	if d, _, _ := webhooks.Get(ctx, e.db.Bun, id); d.Status != webhooks.StatusSucceeded || d.Attempts != 3 {
		t.Fatalf("after re-send %+v", d)
	}
	if msgs := e.activity("webhook.resent"); len(msgs) != 1 || msgs[0] != "Webhook license.created re-sent via console." {
		t.Fatalf("activity %q", msgs)
	}
}

func TestTimeoutIsAFailedAttempt(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t)
	// The receiver answers only after a minute, or when the client gives
	// up: a delivery that ignored the timeout would take that minute, far
	// beyond the bound below, which leaves a loaded machine seconds to do
	// the delivery's database work.
	recv.delay = time.Minute
	e := newEnv(t, recv, nil)
	client := recv.Client()
	client.Timeout = 100 * time.Millisecond
	deliverer := webhooks.NewDeliverer(e.db.Bun, client, e.store, nil)
	e.createLicense("LIC-SLOW")
	id := e.deliveries()[0].ID
	start := time.Now()
	err := deliverer.Deliver(context.Background(), id, 1, false)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("slow receiver: %v after %s", err, time.Since(start))
	}
	_, attempts, _ := webhooks.Get(context.Background(), e.db.Bun, id)
	if len(attempts) != 1 || attempts[0].StatusCode != nil || attempts[0].Error == nil {
		t.Fatalf("%+v", attempts)
	}
}

func TestEventsFollowTheSettings(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t)
	e := newEnv(t, recv, map[string]string{"webhook_events": "license.blocked", "webhook_secret": ""})
	ctx := context.Background()
	l := e.createLicense("LIC-SET")
	if n := len(e.deliveries()); n != 0 {
		t.Fatalf("license.created emitted though not in webhook_events: %d", n)
	}
	if err := e.db.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, _, err := e.licenses.Block(ctx, tx, system, l.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ds := e.deliveries()
	if len(ds) != 1 || ds[0].Event != "license.blocked" {
		t.Fatalf("%+v", ds)
	}
	if err := e.deliverer.Deliver(ctx, ds[0].ID, 1, false); err != nil {
		t.Fatal(err)
	}
	if h := recv.requests()[0].header; h.Get("X-Webhook-Signature") != "" {
		t.Error("signature sent without a secret")
	}

	// Webhooks off: nothing.
	if _, err := settings.Set(ctx, e.db.Bun, system, map[string]string{"enable_webhooks": "false"}); err != nil {
		t.Fatal(err)
	}
	e.store.Invalidate()
	if err := e.db.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, _, err := e.licenses.Unblock(ctx, tx, system, l.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.deliveries()); n != 1 {
		t.Fatalf("%d deliveries with webhooks off", n)
	}

	// The test event goes out even while webhooks are off.
	set, _ := e.store.Get(ctx)
	if _, err := e.emitter.SendTest(ctx, e.db.Bun, set); err != nil {
		t.Fatal(err)
	}
	if ds := e.deliveries(); len(ds) != 2 || ds[0].Event != "webhook.test" || ds[0].LicenseID != nil {
		t.Fatalf("%+v", ds)
	}
}

func TestPayloads(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t)
	e := newEnv(t, recv, nil)
	ctx := context.Background()
	expires := time.Date(2025, 5, 1, 22, 30, 0, 0, time.UTC)
	cust := "CUST-1"
	email := "ann@example.com"
	l := &licensing.License{ID: 7, LicenseCode: "LIC-7", ProductReferenceID: "ACME", ProductName: "Acme CMS", CustomerID: &cust, Email: &email, ExpiresAt: &expires, UpdatesUntil: &expires, IsValid: true}
	set := *settings.Defaults()
	set.EnableWebhooks, set.WebhookURL = true, recv.URL
	for _, c := range []struct {
		ev   webhooks.Event
		want string
	}{
		{webhooks.Expiring(&set, l, 7), `{"license_code":"LIC-7","product_reference_id":"Acme CMS","product_id":"ACME","customer":"CUST-1","email":"ann@example.com","expires_at":"2025-05-01","days_until_expiry":7}`},
		{webhooks.Expired(&set, l), `{"license_code":"LIC-7","product_reference_id":"Acme CMS","product_id":"ACME","customer":"CUST-1","email":"ann@example.com","expires_at":"2025-05-01","is_valid":true}`},
		{webhooks.UpdateSupportExpired(&set, &licensing.License{LicenseCode: "LIC-8", ProductName: "Acme CMS", ProductReferenceID: "ACME", UpdatesUntil: &expires}), `{"license_code":"LIC-8","product_reference_id":"Acme CMS","product_id":"ACME","customer":null,"email":null,"expires_at":"2025-05-01","is_valid":false}`},
	} {
		b, err := json.Marshal(c.ev.Payload)
		if err != nil || string(b) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.ev.Type, b, c.want)
		}
	}

	// Dates are days in the timezone setting.
	if _, err := settings.Set(ctx, e.db.Bun, system, map[string]string{"timezone": "Asia/Tokyo"}); err != nil {
		t.Fatal(err)
	}
	tokyo, _ := settings.Load(ctx, e.db.Bun)
	b, _ := json.Marshal(webhooks.Expired(tokyo, l).Payload)
	if !strings.Contains(string(b), `"expires_at":"2025-05-02"`) {
		t.Errorf("Tokyo date: %s", b)
	}

	// customer.created carries the customer resource.
	c, err := customers.NewService(nil, customers.Hooks{Created: func(ctx context.Context, tx bun.IDB, c *customers.Customer, _ bool) error {
		return e.emitter.CustomerCreated(ctx, tx, c)
	}}).Create(ctx, e.db.Bun, system, settings.Defaults(), customers.CreateParams{Name: "Ann Lee", Email: "ann@example.com", ClientID: "CUST-1"})
	if err != nil {
		t.Fatal(err)
	}
	ds := e.deliveries()
	d, _, _ := webhooks.Get(ctx, e.db.Bun, ds[0].ID)
	if d.Event != "customer.created" || !strings.Contains(d.Body, `"payload":{"customer":{"id":`+itoa(c.ID)+`,"name":"Ann Lee","email":"ann@example.com","client_id":"CUST-1","avatar_url":null,`) {
		t.Fatalf("%s", d.Body)
	}
}

func TestDeletedDelivery(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t)
	e := newEnv(t, recv, nil)
	if err := e.deliverer.Deliver(context.Background(), "5f0c8c38-0000-4000-8000-000000000000", 1, false); !errors.Is(err, webhooks.ErrGone) {
		t.Fatalf("%v", err)
	}
}

func TestBackoffIsAboutADay(t *testing.T) {
	var total time.Duration
	for n := 1; n < 8; n++ {
		total += webhooks.Backoff(n)
	}
	if webhooks.Backoff(1) != time.Minute || webhooks.Backoff(7) != 14*time.Hour || total < 23*time.Hour || total > 24*time.Hour {
		t.Fatalf("backoff total %s", total)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
