package external_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
)

// An expiry clock waiting for the first verify (docs/licensing.md#expiry-clock):
// modern activate says so in its data and token, the first verify starts it
// and answers data.expires_at, every node's cached state is dropped so a
// later verify answers the same date; the legacy paths answer as before.
func TestExpiryClockStartsAtFirstVerify(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t)
	ctx := context.Background()
	p, err := catalog.NewService(nil).CreateProduct(ctx, a.DB.Bun, admin, settings.Defaults(), catalog.ProductInput{
		Name: fields.Some("Trial"), ReferenceID: fields.Some("TRIAL"),
		DefaultExpiryDays: fields.Some(new(30)), DefaultExpiryStart: fields.Some("first_verify"),
	})
	if err != nil {
		t.Fatal(err)
	}
	l := a.license(p, "CLK-1")
	const host = "https://shop.example.com"
	r := a.call(modern, modern.activate, map[string]any{"product_id": "TRIAL", "license_code": "CLK-1"}, host)
	if r.JSON["status"] != true || !strings.Contains(r.Body, `"expires_at":null,`) || !strings.HasSuffix(r.Body, `"support_until":null,"expiry_start":"first_verify","expiry_days":30}}`) {
		t.Fatalf("activate: %s", r.Body)
	}
	tok := r.str("lic_response")
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if !strings.HasSuffix(string(payload), `,"exs":"first_verify","exd":30}`) {
		t.Fatalf("token payload %s", payload)
	}
	// Legacy activate: no clock fields (the clock still waits).
	r = a.call(legacy, legacy.activate, map[string]any{"product_id": "TRIAL", "license_code": "CLK-1"}, "https://other.example.com")
	if r.JSON["status"] != true || strings.Contains(r.Body, "expiry_") {
		t.Fatalf("legacy activate: %s", r.Body)
	}
	if got, _ := licensing.Get(ctx, a.DB.Bun, l.ID); got.ExpiresAt != nil {
		t.Fatalf("activation started the clock: %v", got.ExpiresAt)
	}

	before := time.Now()
	r = a.call(modern, modern.verify, map[string]any{"product_id": "TRIAL", "license_data": tok}, host)
	got, err := licensing.Get(ctx, a.DB.Bun, l.ID)
	if err != nil || got.ExpiresAt == nil || got.ExpiryStartedAt == nil || got.ExpiryStartedAt.Before(before.Add(-time.Second)) {
		t.Fatalf("verify did not start the clock: %+v %v", got, err)
	}
	want := `{"status":true,"is_active":true,"message":"Verified.","data":{"entitlements":[],"expires_at":"` +
		got.ExpiresAt.UTC().Format("2006-01-02T15:04:05.000000Z") + `"}}`
	expect(t, r, 200, want)
	// Again, through the cache of the node and the code path: the same date.
	expect(t, a.call(modern, modern.verify, map[string]any{"product_id": "TRIAL", "license_data": tok}, host), 200, want)
	expect(t, a.call(modern, modern.verify, map[string]any{"product_id": "TRIAL", "license_code": "CLK-1"}, host), 200, want)
	expect(t, a.call(legacy, legacy.verify, map[string]any{"product_id": "TRIAL", "license_data": tok}, host), 200, bodyVerified)
	var n int
	if err := a.DB.Bun.NewRaw("SELECT count(*) FROM activity_log WHERE type = 'license.expiry_started'").Scan(ctx, &n); err != nil || n != 1 {
		t.Fatalf("%d expiry_started lines, %v", n, err)
	}
}
