package portal_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web"
	"github.com/licensor/licensor/test/eventually"
)

// TestPortalReadsFromReplica runs the portal on a private primary with a
// real streaming replica (docs/deploy.md#read-replicas). With the
// replica's replay paused: a license the shop issues to the customer
// meanwhile is missing from the dashboard and the license list of a
// session that changed nothing (the replica's pages); the customer who
// deactivates an activation sees it freed on the next page (read-your-
// writes: the primary) while the other session still sees it active;
// once replay resumes every session sees both. With the replica stopped,
// every page answers 200 from the primary.
func TestPortalReadsFromReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL clusters")
	}
	t.Parallel()
	pg := dbtest.StartReplicated(t)
	d := pg.Open(time.Minute)
	e := servertest.NewOn(t, d, func(c *config.Config) { c.Database.ReplicaMaxLag = time.Minute })
	s := newShopOn(t, e)
	ctx := context.Background()
	eventually.True(t, 10*time.Second, "the replica has the shop", func() bool {
		var n int
		_ = d.Reader().NewRaw("SELECT count(*) FROM activations WHERE id = ?", s.coraAct).Scan(ctx, &n)
		return n == 1
	})
	// Sessions started without a request that writes: no read-your-writes
	// window, so their pages are the replica's.
	writer, other := e.SignInCustomer(t, s.cora.ID), e.SignInCustomer(t, s.cora.ID)
	licensePage := fmt.Sprintf("/customer/product-licenses/%d", s.coraLic.ID)
	if r := other.Get(licensePage); r.StatusCode != 200 || !strings.Contains(r.Body, "1 of 2") {
		t.Fatalf("license page: %d\n%s", r.StatusCode, r.Body)
	}

	pg.PauseReplay()
	set, err := e.Nodes[0].Settings.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = licensing.NewService(licensing.Options{}).CreateLicense(ctx, d.Bun, audit.Source{Actor: audit.System}, set, licensing.LicenseInput{
		ProductReferenceID: fields.Some(s.product.ReferenceID), LicenseCode: fields.Some("CORA-NEW-ZQXW"), Email: fields.Some(&s.cora.Email),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/customer/product-licenses", "/customer/dashboard"} {
		r := other.Get(path)
		if r.StatusCode != 200 || strings.Contains(r.Body, "ZQXW") || !strings.Contains(r.Body, "4444") {
			t.Fatalf("%s with replay paused is not the replica's: %d (shows the new license: %v)", path, r.StatusCode, strings.Contains(r.Body, "ZQXW"))
		}
	}
	if r := other.Get("/customer/dashboard"); !strings.Contains(r.Body, `data-stat="total">1<`) {
		t.Fatalf("dashboard with replay paused counts the primary's licenses:\n%s", r.Body)
	}

	token := writer.GetCSRF("/customer/product-activations")
	r := writer.PostForm(fmt.Sprintf("/customer/product-activations/%d/deactivate", s.coraAct), url.Values{"_csrf": {token}})
	if r.StatusCode != 303 {
		t.Fatalf("deactivate: %d\n%s", r.StatusCode, r.Body)
	}
	if !strings.Contains(r.Header.Get("Set-Cookie"), web.ReadYourWritesCookie+"=") {
		t.Fatalf("the change set no read-your-writes cookie: %v", r.Header)
	}
	if r := writer.Get(licensePage); r.StatusCode != 200 || !strings.Contains(r.Body, "0 of 2") {
		t.Fatalf("the customer who deactivated does not see it: %d\n%s", r.StatusCode, r.Body)
	}
	// The list shows codes masked but for their ends (CORA••••••••ZQXW).
	if r := writer.Get("/customer/product-licenses"); !strings.Contains(r.Body, "ZQXW") {
		t.Fatal("the customer's pages after a change are not the primary's")
	}
	if r := other.Get(licensePage); r.StatusCode != 200 || !strings.Contains(r.Body, "1 of 2") {
		t.Fatalf("another session's license page is not the paused replica's: %d", r.StatusCode)
	}

	pg.ResumeReplay()
	eventually.True(t, 10*time.Second, "the other session sees the change once replayed", func() bool {
		return strings.Contains(other.Get(licensePage).Body, "0 of 2") && strings.Contains(other.Get("/customer/product-licenses").Body, "ZQXW")
	})

	pg.StopReplica()
	for range 3 {
		for _, path := range []string{"/customer/dashboard", "/customer/product-licenses", licensePage, "/customer/product-activations"} {
			if r := other.Get(path); r.StatusCode != 200 {
				t.Fatalf("%s with the replica stopped: %d", path, r.StatusCode)
			}
		}
	}
}
