package internalapi_test

import (
	"encoding/json"
	"slices"
	"testing"
)

// The status filters of the lists take the states of docs/licensing.md:
// licenses in_grace (expired, within the product's grace_days) and
// clock_not_started beside valid, expired and blocked; activations
// released, checked_in and heartbeat_missed. Each is in the OpenAPI
// document's enum; a state no list knows is a 422.
func TestStatusFiltersTakeTheLicensingStates(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, map[string]any{"grace_days": 7})
	for _, l := range []map[string]any{
		{"product_id": "ACME", "license_code": "PLAIN"},
		{"product_id": "ACME", "license_code": "GRACE"},
		{"product_id": "ACME", "license_code": "LAPSED"},
		{"product_id": "ACME", "license_code": "WAITING", "expiry_days": 14, "expiry_start": "first_verify"},
		{"product_id": "ACME", "license_code": "BLOCKED", "is_valid": false},
	} {
		data(t, a.do("POST", "/api/internal/product-licenses", l), 201)
	}
	a.exec("UPDATE licenses SET expires_at = now() - interval '2 days' WHERE license_code = 'GRACE'")
	a.exec("UPDATE licenses SET expires_at = now() - interval '8 days' WHERE license_code = 'LAPSED'")
	for _, c := range []struct {
		status string
		want   []string
	}{
		{"valid", []string{"WAITING", "PLAIN"}},
		{"expired", []string{"LAPSED", "GRACE"}},
		{"blocked", []string{"BLOCKED"}},
		{"in_grace", []string{"GRACE"}},
		{"clock_not_started", []string{"WAITING"}},
	} {
		items, _ := list(t, a.get("/api/internal/product-licenses?status="+c.status))
		if got := field(items, "license_code"); !slices.Equal(got, c.want) {
			t.Errorf("licenses ?status=%s: %v, want %v", c.status, got, c.want)
		}
	}

	active := a.activate(t, "PLAIN", "active.example.com")
	released := a.activate(t, "PLAIN", "released.example.com")
	checkedIn := a.activate(t, "PLAIN", "checked.example.com")
	missed := a.activate(t, "PLAIN", "missed.example.com")
	a.exec("UPDATE activations SET is_active = false, deactivated_at = now(), deactivation_reason = 'released' WHERE id = ?", released)
	a.exec("UPDATE activations SET is_active = false, deactivated_at = now(), deactivation_reason = 'checked_in' WHERE id = ?", checkedIn)
	a.exec("UPDATE activations SET heartbeat_missed_at = now() - interval '1 minute' WHERE id = ?", missed)
	for _, c := range []struct {
		query string
		want  []int64
	}{
		{"?status=released", []int64{released}},
		{"?status=checked_in", []int64{checkedIn}},
		{"?status=heartbeat_missed", []int64{missed}},
		{"?status=heartbeat_missed&is_active=false", nil},
		{"", []int64{missed, checkedIn, released, active}},
	} {
		items, _ := list(t, a.get("/api/internal/product-activations"+c.query))
		var got []int64
		for _, it := range items {
			got = append(got, int64(it["id"].(float64)))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("activations %s: %v, want %v", c.query, got, c.want)
		}
	}
	for _, path := range []string{"/api/internal/product-licenses?status=released", "/api/internal/product-activations?status=in_grace"} {
		want(t, a.get(path), 422,
			`{"status":false,"is_active":false,"message":"The selected status is invalid.","errors":{"status":["The selected status is invalid."]}}`)
	}

	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string `json:"name"`
				Schema struct {
					Enum []string `json:"enum"`
				} `json:"schema"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(a.c.Get("/api/openapi.json").Body), &doc); err != nil {
		t.Fatal(err)
	}
	for path, enum := range map[string][]string{
		"/api/internal/product-licenses":    {"valid", "expired", "blocked", "in_grace", "clock_not_started"},
		"/api/internal/product-activations": {"released", "checked_in", "heartbeat_missed"},
	} {
		var got []string
		for _, p := range doc.Paths[path]["get"].Parameters {
			if p.Name == "status" {
				got = p.Schema.Enum
			}
		}
		if !slices.Equal(got, enum) {
			t.Errorf("openapi %s status enum %v, want %v", path, got, enum)
		}
	}
}
