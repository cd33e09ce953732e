package internalapi_test

import (
	"slices"
	"testing"
	"time"
)

func TestActivationsListReadActivateDeactivate(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, nil)
	data(t, a.do("POST", "/api/internal/products", map[string]any{"name": "Other", "reference_id": "OTHER"}), 201)
	data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "CODE-A"}), 201)
	data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "OTHER", "license_code": "CODE-B", "customer_id": "Buyer"}), 201)
	first := a.activate(t, "CODE-A", "one.example.com")
	second := a.activate(t, "CODE-A", "two.example.com")
	third := a.activate(t, "CODE-B", "three.example.com")
	// A failed attempt, as activate records it.
	a.exec(`INSERT INTO activations (license_id, product_id, license_code, domain, is_valid, is_active, failure_reason)
		VALUES (NULL, 1, 'WRONG', 'bad.example.com', false, false, 'LICENSE_INVALID')`)
	failed := int64(4)

	r := a.get("/api/internal/product-activations/" + itoa(int(first)))
	d := data(t, r, 200)
	wantKeys := []string{"id", "product_reference_id", "license_id", "license_code", "client_name", "url", "domain", "ip", "user_agent",
		"is_valid", "is_active", "failure_reason", "activated_at", "deactivated_at", "last_verified_at",
		"deactivation_reason", "last_heartbeat_at", "heartbeat_due_at", "heartbeat_missed_at", "created_at", "updated_at"}
	if got := keysInOrder(t, dataRaw(t, r.Body)); !slices.Equal(got, wantKeys) {
		t.Fatalf("keys %v", got)
	}
	if d["product_reference_id"] != "ACME" || d["license_code"] != "CODE-A" || d["domain"] != "one.example.com" || d["url"] != "https://one.example.com" ||
		d["ip"] != "203.0.113.9" || d["is_active"] != true || d["is_valid"] != true || d["deactivated_at"] != nil || !stampRE.MatchString(d["activated_at"].(string)) {
		t.Fatal(r.Body)
	}
	for _, ref := range []string{"999", "abc", "1.5", "-1", "99999999999999999999999"} {
		want(t, a.get("/api/internal/product-activations/"+ref), 404, `{"status":false,"is_active":false,"message":"Product activation not found."}`)
	}

	cases := []struct {
		query string
		want  []int64
	}{
		{"", []int64{failed, third, second, first}},
		{"?sort=activated_at", []int64{first, second, third, failed}},
		{"?product_reference_id=acme", []int64{failed, second, first}},
		{"?license_code=code-a", []int64{second, first}},
		{"?client_name=buyer", []int64{third}},
		{"?domain=two.example.com", []int64{second}},
		{"?is_valid=false", []int64{failed}},
		{"?is_valid=true&is_active=yes", []int64{third, second, first}},
		{"?license_code=%27%20OR%20%27%27%3D%27", nil},
	}
	for _, c := range cases {
		items, _ := list(t, a.get("/api/internal/product-activations"+c.query))
		var got []int64
		for _, it := range items {
			got = append(got, int64(it["id"].(float64)))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.query, got, c.want)
		}
	}

	for i := 0; i < 2; i++ {
		want(t, a.do("DELETE", "/api/internal/activated-product-activations/"+itoa(int(first)), nil, "X-API-IP", "192.0.2.1"), 200,
			`{"status":true,"message":"Product activation has been deactivated successfully."}`)
	}
	if d := data(t, a.get("/api/internal/product-activations/"+itoa(int(first))), 200); d["is_active"] != false || d["deactivated_at"] == nil {
		t.Fatal(d)
	}
	if d := data(t, a.get("/api/internal/product-licenses/CODE-A"), 200); d["active_activations"] != 1.0 {
		t.Fatal(d)
	}
	if log := a.activity(1)[0]; log.Message != "Activation 1 of license CODE-A deactivated via API." || log.IP != "192.0.2.1" {
		t.Fatalf("one entry for the change, none for the repeat: %+v", log)
	}
	for i := 0; i < 2; i++ {
		want(t, a.do("POST", "/api/internal/activated-product-activations/"+itoa(int(first)), nil), 200,
			`{"status":true,"message":"Product activation has been activated successfully."}`)
	}
	if d := data(t, a.get("/api/internal/product-licenses/CODE-A"), 200); d["active_activations"] != 2.0 {
		t.Fatal(d)
	}
	want(t, a.do("POST", "/api/internal/activated-product-activations/"+itoa(int(failed)), nil), 422,
		`{"status":false,"is_active":false,"message":"Failed activation attempts cannot be activated.","errors":{"activation":["Failed activation attempts cannot be activated."]}}`)
	want(t, a.do("DELETE", "/api/internal/activated-product-activations/999", nil), 404, `{"status":false,"is_active":false,"message":"Product activation not found."}`)
}

// An activation made active again through the internal API is under its
// heartbeat policy from then (docs/licensing.md#re-activation-and-heartbeats):
// released for want of heartbeats, it had no deadline; re-activated, its
// heartbeat_due_at is set again (now + interval + tolerance) and the
// missed mark is null.
func TestActivateActivationRestartsHeartbeat(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, map[string]any{"heartbeat_interval": 60, "heartbeat_tolerance": 30})
	data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "HB-API"}), 201)
	id := a.activate(t, "HB-API", "one.example.com")
	a.exec("UPDATE activations SET is_active = false, deactivated_at = now(), deactivation_reason = 'released', heartbeat_due_at = NULL WHERE id = ?", id)
	want(t, a.do("POST", "/api/internal/activated-product-activations/"+itoa(int(id)), nil), 200,
		`{"status":true,"message":"Product activation has been activated successfully."}`)
	d := data(t, a.get("/api/internal/product-activations/"+itoa(int(id))), 200)
	due, _ := d["heartbeat_due_at"].(string)
	updated, _ := d["updated_at"].(string)
	if d["is_active"] != true || d["heartbeat_missed_at"] != nil || !stampRE.MatchString(due) {
		t.Fatalf("re-activated: %v", d)
	}
	dueAt, err1 := time.Parse(time.RFC3339, due)
	at, err2 := time.Parse(time.RFC3339, updated)
	if err1 != nil || err2 != nil || dueAt.Sub(at) != 90*time.Second {
		t.Fatalf("heartbeat_due_at %s, re-activated at %s: want 90 s later", due, updated)
	}
}
