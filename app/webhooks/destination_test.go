package webhooks_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/webhooks"
)

// guarded is the deliveries' own guarded client, trusting recv's
// certificate.
func guarded(recv *receiver, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: webhooks.Guard(recv.Client().Transport.(*http.Transport).Clone())}
}

// TestDeliveriesRefuseInternalDestinations replays issue 15.14: the
// webhook URL took 127.0.0.1, [::1] and 169.254.169.254, and the test
// event's errors told which ports were open. A delivery now connects to no
// private, loopback or link-local address, checked after DNS (localhost is
// refused like 127.0.0.1), unless webhook_allowed_networks opens its
// range; and every failure to connect reads the same, open port or not.
func TestDeliveriesRefuseInternalDestinations(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t)
	port := recv.URL[strings.LastIndex(recv.URL, ":")+1:]
	e := newEnv(t, recv, nil)
	ctx := context.Background()
	attempt := func(d *webhooks.Deliverer, url string) string {
		t.Helper()
		if _, err := settings.Set(ctx, e.db.Bun, system, map[string]string{"webhook_url": url}); err != nil {
			t.Fatal(err)
		}
		e.store.Invalidate()
		before := len(e.deliveries())
		id, err := e.emitter.SendTest(ctx, e.db.Bun, mustSettings(t, e))
		if err != nil || len(e.deliveries()) != before+1 {
			t.Fatalf("send test: %v", err)
		}
		_ = d.Deliver(ctx, id, 1, false)
		_, attempts, err := webhooks.Get(ctx, e.db.Bun, id)
		if err != nil || len(attempts) != 1 {
			t.Fatalf("attempts %+v, %v", attempts, err)
		}
		if attempts[0].Error == nil {
			return "delivered"
		}
		return *attempts[0].Error
	}

	// The node's own client (no client given) and a guarded one that
	// trusts the test receiver refuse it alike.
	for _, d := range []*webhooks.Deliverer{webhooks.NewDeliverer(e.db.Bun, nil, e.store, nil), webhooks.NewDeliverer(e.db.Bun, guarded(recv, 2*time.Second), e.store, nil)} {
		for _, url := range []string{"https://127.0.0.1:" + port + "/hooks", "https://localhost:" + port + "/hooks", "https://[::1]:" + port + "/hooks",
			"https://169.254.169.254/latest/meta-data", "https://10.0.0.1:" + port + "/x", "https://[::ffff:127.0.0.1]:" + port + "/hooks"} {
			if got := attempt(d, url); got != webhooks.ErrPrivateDestination.Error() {
				t.Fatalf("%s: %q", url, got)
			}
		}
	}
	if n := len(recv.requests()); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}

	// An admin opens loopback for an internal receiver.
	if _, err := settings.Set(ctx, e.db.Bun, system, map[string]string{"webhook_allowed_networks": "127.0.0.0/8\n::1"}); err != nil {
		t.Fatal(err)
	}
	d := webhooks.NewDeliverer(e.db.Bun, guarded(recv, 300*time.Millisecond), e.store, nil)
	if got := attempt(d, "https://127.0.0.1:"+port+"/hooks"); got != "delivered" || len(recv.requests()) != 1 {
		t.Fatalf("allowed range: %q, %d requests", got, len(recv.requests()))
	}
	if got := attempt(d, "https://169.254.169.254/latest/meta-data"); got != webhooks.ErrPrivateDestination.Error() {
		t.Fatalf("link-local still refused: %q", got)
	}
	// A closed port, an open port that never answers and a host that does
	// not exist read alike.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().String()
	_ = closed.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	refusedMsg := attempt(d, "https://"+closedPort+"/hooks")
	silentMsg := attempt(d, "https://"+silent.Addr().String()+"/hooks")
	unknownMsg := attempt(d, "https://no-such-host.invalid/hooks")
	if refusedMsg != silentMsg || silentMsg != unknownMsg || strings.Contains(refusedMsg, "refused") || strings.Contains(refusedMsg, "127.0.0.1") {
		t.Fatalf("failures tell ports apart: closed %q, silent %q, unknown %q", refusedMsg, silentMsg, unknownMsg)
	}
}

func mustSettings(t *testing.T, e *env) *settings.Values {
	t.Helper()
	set, err := e.store.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return set
}
