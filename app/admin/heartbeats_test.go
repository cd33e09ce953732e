package admin_test

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
)

// Heartbeats in the console (docs/licensing.md#heartbeats-and-automatic-release):
// the product form sets the policy (a bad interval re-renders with its
// message next to the field), the license form the floating flag and
// overrides; an activation released for want of heartbeats shows as
// "released (no heartbeat since …)" on the license page, in the
// activation list and on its own page.
func TestConsoleHeartbeats(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	ctx := context.Background()

	r := c.PostForm("/admin/products", url.Values{"name": {"Beat"}, "reference_id": {"BEAT"}, "is_active": {"1"}, "heartbeat_interval": {"30"}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, `id="product-heartbeat_interval-error"`) || !strings.Contains(r.Body, "The heartbeat interval field must be at least 60.") {
		t.Fatalf("bad interval: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.PostForm("/admin/products", url.Values{"name": {"Beat"}, "reference_id": {"BEAT"}, "is_active": {"1"},
		"heartbeat_interval": {"60"}, "heartbeat_tolerance": {"30"}, "heartbeat_missed": {"release"}})
	if r.StatusCode != 303 {
		t.Fatalf("create: %d\n%s", r.StatusCode, r.Body)
	}
	p, err := catalog.ByRef(ctx, e.DB.Bun, "BEAT")
	if err != nil || p.HeartbeatInterval == nil || *p.HeartbeatInterval != 60 || p.HeartbeatTolerance != 30 || p.HeartbeatMissed != "release" {
		t.Fatalf("stored %+v %v", p, err)
	}
	if r := c.Get(r.Header.Get("Location")); !strings.Contains(r.Body, "every 60 s, 30 s tolerance; a missed one releases the activation") {
		t.Fatalf("product page:\n%s", r.Body)
	}
	if r := c.Get(fmt.Sprintf("/admin/products/%d/edit", p.ID)); !strings.Contains(r.Body, `name="heartbeat_interval"`) || !strings.Contains(r.Body, `value="60"`) {
		t.Fatalf("edit form:\n%s", r.Body)
	}

	svc := e.Nodes[0].Licensing
	if _, err := svc.CreateLicense(ctx, e.DB.Bun, system, settings.Defaults(), licensing.LicenseInput{ProductReferenceID: fields.Some("BEAT"), LicenseCode: fields.Some("BEAT-1")}); err != nil {
		t.Fatal(err)
	}
	l := licenseByCode(t, e, "BEAT-1")
	path := fmt.Sprintf("/admin/licenses/%d", l.ID)
	form := url.Values{"product": {"BEAT"}, "is_valid": {"1"}, "floating": {"1"}, "heartbeat_interval": {"120"}, "parallel_uses": {"3"}}
	if r := c.PostForm(path+"/edit", form); r.StatusCode != 303 {
		t.Fatalf("edit license: %d\n%s", r.StatusCode, r.Body)
	}
	l = licenseByCode(t, e, "BEAT-1")
	if !l.Floating || l.HeartbeatInterval == nil || *l.HeartbeatInterval != 120 {
		t.Fatalf("license %+v", l)
	}
	if r := c.Get(path); !strings.Contains(r.Body, "every 120 s (30 s tolerance)") || !strings.Contains(r.Body, "floating</span>") {
		t.Fatalf("license page:\n%s", r.Body)
	}

	res, err := svc.Activate(ctx, e.DB.Bun, settings.Defaults(), licensing.ActivateRequest{ProductRef: "BEAT", LicenseCode: "BEAT-1", Caller: licensing.Caller{Host: "one.example.com"}})
	if err != nil || res.Failure != nil {
		t.Fatalf("activate %v %+v", err, res)
	}
	if _, err := e.DB.Bun.ExecContext(ctx, "UPDATE activations SET heartbeat_due_at = now() - interval '1 second' WHERE id = ?", res.Activation.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := svc.ReleaseOverdue(ctx, e.DB.Bun); err != nil || got.Released != 1 {
		t.Fatalf("release %+v %v", got, err)
	}
	if r := c.Get(path); !strings.Contains(r.Body, "released (no heartbeat since ") {
		t.Fatalf("license page after the release:\n%s", r.Body)
	}
	if r := c.Get("/admin/activations"); !strings.Contains(r.Body, ">released</span>") || !strings.Contains(r.Body, "released (no heartbeat since ") {
		t.Fatalf("activation list:\n%s", r.Body)
	}
	if r := c.Get(fmt.Sprintf("/admin/activations/%d", res.Activation.ID)); !strings.Contains(r.Body, "<strong>released</strong> (no heartbeat since ") {
		t.Fatalf("activation page:\n%s", r.Body)
	}
}

// Making an activation active again in the console — its own Mark active
// button and the Undo of a block (unblock with ?restore=) — puts it under
// its license's heartbeat policy again from that moment
// (docs/licensing.md#re-activation-and-heartbeats): a released one gets a
// deadline again instead of none, a blocked one a fresh deadline instead
// of the stale one it was freed with; the activation's page says when.
func TestConsoleReactivationHeartbeats(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	ctx := context.Background()
	interval, tolerance := 60, 30
	svc := e.Nodes[0].Licensing
	if _, err := e.Nodes[0].Catalog.CreateProduct(ctx, e.DB.Bun, system, settings.Defaults(), catalog.ProductInput{
		Name: fields.Some("Beat"), ReferenceID: fields.Some("REBEAT"), IsActive: fields.Some(true),
		HeartbeatInterval: fields.Some(&interval), HeartbeatTolerance: fields.Some(&tolerance)}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateLicense(ctx, e.DB.Bun, system, settings.Defaults(), licensing.LicenseInput{ProductReferenceID: fields.Some("REBEAT"), LicenseCode: fields.Some("REBEAT-1")}); err != nil {
		t.Fatal(err)
	}
	l := licenseByCode(t, e, "REBEAT-1")
	res, err := svc.Activate(ctx, e.DB.Bun, settings.Defaults(), licensing.ActivateRequest{ProductRef: "REBEAT", LicenseCode: "REBEAT-1", Caller: licensing.Caller{Host: "one.example.com"}})
	if err != nil || res.Failure != nil {
		t.Fatalf("activate %v %+v", err, res)
	}
	id := res.Activation.ID
	// Its deadline passed long ago: the job releases it.
	overdue := func() {
		t.Helper()
		if _, err := e.DB.Bun.ExecContext(ctx, "UPDATE activations SET heartbeat_due_at = now() - interval '1 hour' WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
	}
	overdue()
	if got, err := svc.ReleaseOverdue(ctx, e.DB.Bun); err != nil || got.Released != 1 {
		t.Fatalf("release %+v %v", got, err)
	}
	fresh := func(step string) {
		t.Helper()
		a, err := licensing.GetActivation(ctx, e.DB.Bun, id)
		if err != nil {
			t.Fatal(err)
		}
		if !a.IsActive || a.ReactivatedAt == nil || a.HeartbeatDueAt == nil || !a.HeartbeatDueAt.Equal(a.ReactivatedAt.Add(90*time.Second)) {
			t.Fatalf("%s: %+v", step, a)
		}
		if got, err := svc.ReleaseOverdue(ctx, e.DB.Bun); err != nil || got.Released != 0 {
			t.Fatalf("%s: released at once %+v %v", step, got, err)
		}
	}
	path := fmt.Sprintf("/admin/activations/%d", id)
	if r := c.PostForm(path+"/activate", nil); r.StatusCode != 303 {
		t.Fatalf("mark active: %d\n%s", r.StatusCode, r.Body)
	}
	fresh("marked active")
	if r := c.Get(path); !strings.Contains(r.Body, `id="activation-reactivated">active again since `) || !strings.Contains(r.Body, "; due before ") {
		t.Fatalf("activation page:\n%s", r.Body)
	}

	// Blocked with a stale deadline, then the block's Undo.
	overdue()
	lpath := fmt.Sprintf("/admin/licenses/%d", l.ID)
	if r := c.PostForm(lpath+"/block", nil); r.StatusCode != 303 {
		t.Fatalf("block: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.PostForm(lpath+"/unblock?restore="+strconv.FormatInt(id, 10), nil); r.StatusCode != 303 {
		t.Fatalf("undo block: %d\n%s", r.StatusCode, r.Body)
	}
	fresh("restored by the block's undo")
}
