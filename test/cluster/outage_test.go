package cluster

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/app/mail/mailtest"
	"github.com/licensor/licensor/test/eventually"
)

// outage is how long TestMailAndWebhooksDown keeps the SMTP server and the
// webhook receiver down: LICENSOR_TEST_OUTAGE (a Go duration), 20 s by
// default: retries wait at most a third of it, so CI still sees several
// fail and wait before the services return, and the test takes under a
// minute of the suite. A person runs it longer with,
// e.g., LICENSOR_TEST_OUTAGE=10m go test -timeout 30m -run
// TestMailAndWebhooksDown ./test/cluster/.
func outage(t *testing.T) time.Duration {
	v := os.Getenv("LICENSOR_TEST_OUTAGE")
	if v == "" {
		return 20 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		t.Fatalf("LICENSOR_TEST_OUTAGE=%q: want a duration of at least 1s", v)
	}
	return d
}

// receiver is a webhook receiver over TLS (httptest's certificate, which
// the nodes trust through SSL_CERT_FILE) on a fixed address, so it can be
// stopped and started again. It counts every delivery by X-Webhook-Id.
type receiver struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	srv  *httptest.Server
	got  map[string]int // X-Webhook-Id → times received
}

func startReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, got: map[string]int{}}
	r.start()
	r.addr = r.srv.Listener.Addr().String()
	t.Cleanup(r.stop)
	return r
}

func (r *receiver) start() {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.got[req.Header.Get("X-Webhook-Id")]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	if r.addr != "" {
		_ = srv.Listener.Close()
		var err error
		for range 50 { // the port was ours a moment ago
			if srv.Listener, err = net.Listen("tcp", r.addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond) // nothing tells when the kernel lets the port go
		}
		if err != nil {
			r.t.Fatalf("receiver: listen again on %s: %v", r.addr, err)
		}
	}
	srv.StartTLS()
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
}

// stop closes the listener and lets every request already taken get its
// answer before the connections close: httptest's Close alone also cuts
// connections that have just been accepted, so a delivery could be counted
// here while its sender saw a broken connection and sent it again — a
// duplicate made by the receiver going away, not by Licensor.
func (r *receiver) stop() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Config.Shutdown(ctx)
		srv.Close()
	}
}

func (r *receiver) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]int, len(r.got))
	for k, v := range r.got {
		m[k] = v
	}
	return m
}

// certFile writes the receiver's certificate for SSL_CERT_FILE.
func (r *receiver) certFile(t *testing.T) string {
	r.mu.Lock()
	cert := r.srv.Certificate()
	r.mu.Unlock()
	p := filepath.Join(t.TempDir(), "receiver.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMailAndWebhooksDown keeps the SMTP server and the webhook receiver
// down for a while (see outage) under two nodes creating customers
// (welcome email, customer.created) and activations (activation.created):
// the load never notices, and once both come back every email and every
// webhook queued before, during and after the outage is delivered exactly
// once. jobs.max_retry_wait is a third of the outage, so retries wait
// through it without webhooks running out of their eight attempts.
func TestMailAndWebhooksDown(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts licensor processes")
	}
	down := outage(t)
	smtp := mailtest.Start(t)
	recv := startReceiver(t)
	retryWait := max(down/3, time.Second)
	c := startCluster(t, options{nodes: 2, env: []string{
		"LICENSOR_MAIL_SMTP_URL=" + smtp.URL(),
		"SSL_CERT_FILE=" + recv.certFile(t),
		fmt.Sprintf("LICENSOR_JOBS_MAX_RETRY_WAIT=%s", retryWait),
	}})
	console := map[string]*browser{} // each node's, signed in
	for _, node := range c.nodes {
		console[node] = c.browser(t, node)
		console[node].signIn(t)
	}
	admin := console[c.nodes[0]]
	form := admin.form(t, "/admin/settings/webhooks")
	form.Set("enable_webhooks", "1")
	form.Set("webhook_url", "https://"+recv.addr+"/hooks")
	// The receiver is on loopback, which deliveries refuse unless allowed.
	form.Set("webhook_allowed_networks", "127.0.0.0/8\n::1")
	if res, body := admin.post(t, "/admin/settings/webhooks", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("webhook settings: %d\n%s", res.StatusCode, body)
	}
	// The console's webhook list says where the node's cached settings send
	// webhooks: every node must send these before the load starts.
	on := "Webhooks are on and go to <code>https://" + recv.addr + "/hooks</code>."
	c.awaitSetting(t, "webhooks on", func(node string) bool {
		res, body := console[node].get(t, "/admin/webhooks")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s/admin/webhooks: %d", node, res.StatusCode)
		}
		return strings.Contains(body, on)
	})

	var next atomic.Int64
	tr := c.startTraffic(t, "OUTAGE", 4, 200*time.Millisecond, func() string { return c.nodes[next.Add(1)%2] })
	// Customers created through the API: each queues a welcome email and a
	// customer.created webhook in its transaction.
	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		created atomic.Int64
		seen    tally
	)
	hc := &http.Client{Timeout: 10 * time.Second}
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			body := fmt.Sprintf(`{"name":"Outage %d","email":"outage-%d@example.com","password":"long enough password"}`, i, i)
			start := time.Now()
			status, _, err := post(hc, c.nodes[i%2], "/api/internal/customers", c.internalKey, body)
			seen.add(status, time.Since(start), err)
			if err == nil && status < 300 {
				created.Add(1)
			}
			time.Sleep(200 * time.Millisecond) // the load's pace
		}
	})

	// Emails and webhooks go out before the outage.
	eventually.True(t, 30*time.Second, "customers created, and emails and webhooks delivered, before the outage", func() bool {
		return created.Load() >= 5 && len(smtp.Messages()) > 0 && len(recv.counts()) > 0
	})
	smtp.Stop()
	recv.stop()
	wentDown := time.Now()
	t.Logf("SMTP server and webhook receiver down for %s (retries wait at most %s)", down, retryWait)
	time.Sleep(down) // the outage under test
	smtp.Restart()
	recv.start()
	t.Logf("back up after %s", time.Since(wentDown).Round(time.Second))
	// Customers are created after the return too.
	back := created.Load()
	eventually.True(t, 30*time.Second, "customers created after the return", func() bool { return created.Load() >= back+5 })
	stop.Store(true)
	wg.Wait()
	tr.finish(t, c)
	status, transport, _ := seen.snapshot()
	if transport > 0 || status[http.StatusCreated]+status[http.StatusOK] != int(created.Load()) || created.Load() == 0 {
		t.Fatalf("customer creation during the outage: %v, %d without answer", status, transport)
	}

	// Everything queued goes out within a retry wait (plus River's
	// scheduling) of the return.
	var queued, pending int
	delivered := eventually.Within(retryWait+45*time.Second, func() bool {
		if err := c.db.QueryRow(`SELECT (SELECT count(*) FROM mail_messages WHERE status <> 'sent') +
				(SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'),
				(SELECT count(*) FROM river_job WHERE kind IN ('send_mail', 'deliver_webhook') AND state NOT IN ('completed'))`).
			Scan(&pending, &queued); err != nil {
			t.Fatal(err)
		}
		return pending == 0 && queued == 0
	})
	if !delivered {
		t.Fatalf("%s after the return: %d emails or webhooks not delivered, %d jobs not completed", time.Since(wentDown)-down, pending, queued)
	}
	t.Logf("everything delivered %s after the return", (time.Since(wentDown) - down).Round(time.Second))
	// No wait for duplicates: with every job completed nothing sends again
	// (a job is completed only after its send was acknowledged), and the
	// SMTP server and the receiver count a message before acknowledging
	// it, so any second copy sent before is already counted.

	// Every email exactly once, by Message-ID.
	rows, err := c.db.Query(`SELECT id, uid::text FROM mail_messages`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for rows.Next() {
		var id int64
		var uid string
		if err := rows.Scan(&id, &uid); err != nil {
			t.Fatal(err)
		}
		want[fmt.Sprintf("%d.%s@", id, uid)] = true
	}
	_ = rows.Close()
	received := map[string]int{}
	for _, m := range smtp.Messages() {
		id, _, _ := strings.Cut(m.MessageID, "@")
		received[id+"@"]++
	}
	if len(want) < int(created.Load()) {
		t.Errorf("%d emails queued for %d customers created", len(want), created.Load())
	}
	for id := range want {
		if received[id] != 1 {
			t.Errorf("email %s received %d times", id, received[id])
		}
	}
	for id, n := range received {
		if !want[id] {
			t.Errorf("email %s received %d times but never queued", id, n)
		}
	}
	// Every webhook exactly once, by X-Webhook-Id.
	ids, err := c.db.Query(`SELECT id::text, event FROM webhook_deliveries`)
	if err != nil {
		t.Fatal(err)
	}
	events := map[string]int{}
	hooks := map[string]bool{}
	for ids.Next() {
		var id, event string
		if err := ids.Scan(&id, &event); err != nil {
			t.Fatal(err)
		}
		hooks[id] = true
		events[event]++
	}
	_ = ids.Close()
	got := recv.counts()
	for id := range hooks {
		if got[id] != 1 {
			t.Errorf("webhook %s received %d times", id, got[id])
		}
	}
	for id, n := range got {
		if !hooks[id] {
			t.Errorf("webhook %s received %d times but never queued", id, n)
		}
	}
	var retried int
	if err := c.db.QueryRow(`SELECT count(*) FROM webhook_deliveries WHERE attempts > 1`).Scan(&retried); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d emails and %d webhooks %v delivered once each; %d webhooks needed more than one attempt", len(want), len(hooks), events, retried)
	if events["customer.created"] != int(created.Load()) || events["activation.created"] < int(tr.activated.Load()) || retried == 0 {
		t.Fatalf("webhooks queued: %v for %d customers and %d activations; %d retried", events, created.Load(), tr.activated.Load(), retried)
	}
}
