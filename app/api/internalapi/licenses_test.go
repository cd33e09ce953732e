package internalapi_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// withProduct creates product ACME (name Acme CMS) with license defaults.
func withProduct(t *testing.T, a *api, defaults map[string]any) {
	t.Helper()
	body := map[string]any{"name": "Acme CMS", "reference_id": "ACME"}
	for k, v := range defaults {
		body[k] = v
	}
	data(t, a.do("POST", "/api/internal/products", body), 201)
}

func TestLicenseCreateTakesProductDefaultsAndGeneratesCode(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, map[string]any{
		"default_license_type": "perpetual", "default_parallel_uses": 2, "default_uses": 5,
		"default_updates_until_days": 365, "default_comments": "From the shop",
		"entitlements": []string{"pro", "sso", "priority-support"}, "default_entitlements": []string{"PRO", "priority-support"},
	})
	before := time.Now().UTC()
	r := a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "acme", "client_email": "ann@example.com", "domains": "example.com, *.example.org"},
		"X-API-IP", "198.51.100.4")
	d := data(t, r, 201)
	wantKeys := []string{"id", "product_reference_id", "product_name", "license_code", "type", "is_envato", "invoice", "customer_id", "email", "comments",
		"ips", "domains", "entitlements", "support_until", "updates_until", "expires_at", "expiry_days", "expiry_start", "expiry_started_at", "uses", "parallel_uses",
		"floating", "heartbeat_interval", "heartbeat_missed", "is_valid", "status",
		"active_activations", "total_activations", "uses_left", "parallel_uses_left", "created_at", "updated_at"}
	if got := keysInOrder(t, dataRaw(t, r.Body)); !slices.Equal(got, wantKeys) {
		t.Fatalf("keys %v", got)
	}
	code := d["license_code"].(string)
	if ok, _ := regexp.MatchString(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`, code); !ok {
		t.Fatalf("generated code %q", code)
	}
	if d["product_reference_id"] != "ACME" || d["product_name"] != "Acme CMS" || d["type"] != "perpetual" || d["uses"] != 5.0 ||
		d["parallel_uses"] != 2.0 || d["comments"] != "From the shop" || d["email"] != "ann@example.com" || d["status"] != "valid" ||
		d["uses_left"] != 5.0 || d["parallel_uses_left"] != 2.0 || d["support_until"] != nil || d["expires_at"] != nil ||
		strings.Join(field([]map[string]any{d}, "domains"), "") != `["example.com","*.example.org"]` || field([]map[string]any{d}, "ips")[0] != "[]" ||
		strings.Join(field([]map[string]any{d}, "entitlements"), "") != `["pro","priority-support"]` {
		t.Fatalf("%s", r.Body)
	}
	updates, err := time.Parse(time.RFC3339, d["updates_until"].(string))
	if err != nil || updates.Before(before.AddDate(0, 0, 365).Add(-time.Minute)) || updates.After(time.Now().AddDate(0, 0, 365)) {
		t.Fatalf("updates_until %v", d["updates_until"])
	}
	if log := a.activity(1)[0]; log.Message != "License "+code+" created via API." || log.ActorName != "Shop" || log.IP != "198.51.100.4" {
		t.Fatalf("%+v", log)
	}

	// Explicit values win over the defaults; dates are read in the
	// configured time zone.
	a.env.SetSettings(t, map[string]string{"timezone": "Europe/Berlin", "license_code_format": "custom", "license_code_custom_format": "LIC-%X%X%X%X"})
	d = data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{
		"product_reference_id": "ACME", "license_type": "subscription", "uses": nil, "parallel_uses": 0, "expires_at": "2099-03-01",
		"client": "CUST-9", "ips": []string{"10.0.0.*", "203.0.113.5"}, "is_envato": true, "invoice": "INV-1",
	}), 201)
	if ok, _ := regexp.MatchString(`^LIC-\d{4}$`, d["license_code"].(string)); !ok || d["type"] != "subscription" || d["uses"] != 5.0 ||
		d["parallel_uses"] != 0.0 || d["expires_at"] != "2099-02-28T23:00:00.000000Z" || d["customer_id"] != "CUST-9" ||
		field([]map[string]any{d}, "ips")[0] != `["10.0.0.0/24","203.0.113.5"]` || d["is_envato"] != true || d["invoice"] != "INV-1" {
		t.Fatalf("%v", d)
	}
}

func TestLicenseCreateValidation(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, nil)
	data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "TAKEN"}), 201)
	cases := []struct {
		body any
		want string
	}{
		{map[string]any{}, `{"status":false,"is_active":false,"message":"The product reference id field is required.","errors":{"product_reference_id":["The product reference id field is required."]}}`},
		{map[string]any{"product_reference_id": "NOPE"}, `{"status":false,"is_active":false,"message":"The selected product reference id is invalid.","errors":{"product_reference_id":["The selected product reference id is invalid."]}}`},
		{map[string]any{"product_id": "ACME", "license_code": "taken"}, `{"status":false,"is_active":false,"message":"The license code has already been taken.","errors":{"license_code":["The license code has already been taken."]}}`},
		{map[string]any{"product_id": "ACME", "license_code": "a b"}, `{"status":false,"is_active":false,"message":"The license code field format is invalid.","errors":{"license_code":["The license code field format is invalid."]}}`},
		{map[string]any{"product_id": "ACME", "email": "not-an-email", "uses": -1}, `{"status":false,"is_active":false,"message":"The email field must be a valid email address. (and 1 more error)","errors":{"email":["The email field must be a valid email address."],"uses":["The uses field must be at least 0."]}}`},
		{map[string]any{"product_id": "ACME", "expires_at": "1700000000"}, `{"status":false,"is_active":false,"message":"The expires at field must be a valid date.","errors":{"expires_at":["The expires at field must be a valid date."]}}`},
		{map[string]any{"product_id": "ACME", "ips": []string{"1.2.3.4", "nope"}}, `{"status":false,"is_active":false,"message":"The ips.1 field must be a valid IP address or CIDR range.","errors":{"ips.1":["The ips.1 field must be a valid IP address or CIDR range."]}}`},
		{map[string]any{"product_id": "ACME", "parallel_uses": "two"}, `{"status":false,"is_active":false,"message":"The parallel uses field must be an integer.","errors":{"parallel_uses":["The parallel uses field must be an integer."]}}`},
		{map[string]any{"product_id": "ACME", "floating": "perhaps"}, `{"status":false,"is_active":false,"message":"The floating field must be true or false.","errors":{"floating":["The floating field must be true or false."]}}`},
		{map[string]any{"product_id": "ACME", "floating": true, "heartbeat_interval": 2592001, "heartbeat_missed": "never"}, `{"status":false,"is_active":false,"message":"The heartbeat interval field must not be greater than 2592000. (and 1 more error)","errors":{"heartbeat_interval":["The heartbeat interval field must not be greater than 2592000."],"heartbeat_missed":["The selected heartbeat missed is invalid."]}}`},
	}
	for _, c := range cases {
		want(t, a.do("POST", "/api/internal/product-licenses", c.body), 422, c.want)
	}
}

func TestLicenseReadUpdateDelete(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, nil)
	created := a.do("POST", "/api/internal/product-licenses", map[string]any{
		"product_id": "ACME", "license_code": "Code-1", "customer_id": "CUST-1", "comments": "keep", "invoice": "INV", "uses": 3, "domains": []string{"a.example.com"},
	})
	d := data(t, created, 201)
	id := int(d["id"].(float64))
	for _, ref := range []string{"Code-1", "CODE-1", "code-1", itoa(id)} {
		if got := a.get("/api/internal/product-licenses/" + ref); got.StatusCode != 200 || dataRaw(t, got.Body) != dataRaw(t, created.Body) {
			t.Fatalf("%s: %d %s", ref, got.StatusCode, got.Body)
		}
	}
	want(t, a.get("/api/internal/product-licenses/NOPE"), 404, `{"status":false,"is_active":false,"message":"Product license not found."}`)

	d = data(t, a.do("PATCH", "/api/internal/product-licenses/code-1", map[string]any{"invoice": nil, "uses": "", "domains": [](string){}, "email": "ann@example.com", "license_code": "CODE-1"}), 200)
	if d["invoice"] != nil || d["uses"] != nil || d["comments"] != "keep" || d["customer_id"] != "CUST-1" || d["email"] != "ann@example.com" ||
		field([]map[string]any{d}, "domains")[0] != "[]" || d["license_code"] != "Code-1" {
		t.Fatalf("%v", d)
	}
	if log := a.activity(1)[0]; log.Message != "License Code-1 updated via API." {
		t.Fatal(log)
	}
	d = data(t, a.do("PUT", "/api/internal/product-licenses/Code-1", map[string]any{"expires_at": "2020-01-01 10:00:00"}), 200)
	if d["status"] != "expired" || d["expires_at"] != "2020-01-01T10:00:00.000000Z" {
		t.Fatal(d)
	}
	want(t, a.do("PATCH", "/api/internal/product-licenses/Code-1", map[string]any{"license_code": "OTHER"}), 422,
		`{"status":false,"is_active":false,"message":"The license code cannot be changed.","errors":{"license_code":["The license code cannot be changed."]}}`)
	want(t, a.do("PATCH", "/api/internal/product-licenses/Code-1", map[string]any{"product_reference_id": "OTHER"}), 422,
		`{"status":false,"is_active":false,"message":"The product reference id cannot be changed.","errors":{"product_reference_id":["The product reference id cannot be changed."]}}`)
	want(t, a.do("PATCH", "/api/internal/product-licenses/NOPE", map[string]any{}), 404, `{"status":false,"is_active":false,"message":"Product license not found."}`)

	// is_valid false blocks, with the block's effects.
	if d = data(t, a.do("PATCH", "/api/internal/product-licenses/Code-1", map[string]any{"expires_at": nil}), 200); d["status"] != "valid" {
		t.Fatal(d)
	}
	a.activate(t, "Code-1", "one.example.com")
	d = data(t, a.do("PATCH", "/api/internal/product-licenses/Code-1", map[string]any{"is_valid": "false"}), 200)
	if d["is_valid"] != false || d["status"] != "blocked" || d["active_activations"] != 0.0 {
		t.Fatal(d)
	}
	if got := a.activity(2); got[0].Message != "License Code-1 blocked via API." {
		t.Fatal(got)
	}

	want(t, a.do("DELETE", "/api/internal/product-licenses/Code-1", nil), 200, `{"status":true,"message":"Product license deleted successfully."}`)
	want(t, a.do("DELETE", "/api/internal/product-licenses/Code-1", nil), 404, `{"status":false,"is_active":false,"message":"Product license not found."}`)
	items, _ := list(t, a.get("/api/internal/product-activations"))
	if len(items) != 0 {
		t.Fatal("the license's activations must go with it", items)
	}
	if log := a.activity(1)[0]; log.Message != "License Code-1 deleted via API." {
		t.Fatal(log)
	}
}

func TestLicenseBlockUnblockIdempotent(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, nil)
	data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "CODE"}), 201)
	act1 := a.activate(t, "CODE", "one.example.com")
	act2 := a.activate(t, "CODE", "two.example.com")
	for i := 0; i < 2; i++ {
		want(t, a.do("POST", "/api/internal/blocked-product-licenses/code", nil), 200, `{"status":true,"message":"Product license blocked successfully."}`)
	}
	for _, id := range []int64{act1, act2} {
		if d := data(t, a.get("/api/internal/product-activations/"+itoa(int(id))), 200); d["is_active"] != false || d["deactivated_at"] == nil {
			t.Fatalf("blocking must free every slot: %v", d)
		}
	}
	if d := data(t, a.get("/api/internal/product-licenses/CODE"), 200); d["status"] != "blocked" || d["is_valid"] != false {
		t.Fatal(d)
	}
	for i := 0; i < 2; i++ {
		want(t, a.do("DELETE", "/api/internal/blocked-product-licenses/CODE", nil), 200, `{"status":true,"message":"Product license unblocked successfully."}`)
	}
	if d := data(t, a.get("/api/internal/product-licenses/CODE"), 200); d["status"] != "valid" || d["active_activations"] != 0.0 {
		t.Fatal("unblocking restores only the flag", d)
	}
	msgs := []string{}
	for _, r := range a.activity(4) {
		msgs = append(msgs, r.Message)
	}
	if msgs[0] != "License CODE unblocked via API." || msgs[1] != "License CODE blocked via API." {
		t.Fatalf("one entry per change: %q", msgs)
	}
	want(t, a.do("POST", "/api/internal/blocked-product-licenses/NOPE", nil), 404, `{"status":false,"is_active":false,"message":"Product license not found."}`)
}

func TestLicenseListFiltersAndLinkingRule(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, nil)
	data(t, a.do("POST", "/api/internal/products", map[string]any{"name": "Other", "reference_id": "OTHER"}), 201)
	data(t, a.do("POST", "/api/internal/customers", map[string]any{"name": "Ann Lee", "email": "ann@example.com", "client_id": "CUST-001"}), 201)
	data(t, a.do("POST", "/api/internal/customers", map[string]any{"name": "Uma", "email": "uma@example.com", "client_id": "CUST-002", "confirmed": false}), 201)
	// Uma stands for a registration never confirmed: an email the API sets
	// is proven even unconfirmed, so her proof is taken away here
	// (docs/deploy.md#licenses-linked-by-email).
	a.exec("UPDATE customers SET email_proven_at = NULL WHERE client_id = 'CUST-002'")
	for _, l := range []map[string]any{
		{"product_id": "ACME", "license_code": "BY-CLIENT-ID", "customer_id": "cust-001"},
		{"product_id": "ACME", "license_code": "BY-EMAIL", "email": "ANN@example.com"},
		{"product_id": "OTHER", "license_code": "SOMEONE-ELSE", "customer_id": "CUST-777", "email": "ann@example.com"},
		{"product_id": "OTHER", "license_code": "UMA-EMAIL", "email": "uma@example.com", "expires_at": "2020-01-01"},
		{"product_id": "ACME", "license_code": "BLOCKED", "is_valid": false},
	} {
		data(t, a.do("POST", "/api/internal/product-licenses", l), 201)
	}
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"BLOCKED", "UMA-EMAIL", "SOMEONE-ELSE", "BY-EMAIL", "BY-CLIENT-ID"}},
		{"?sort=license_code", []string{"BLOCKED", "BY-CLIENT-ID", "BY-EMAIL", "SOMEONE-ELSE", "UMA-EMAIL"}},
		// The linking rule: Ann's licenses name her client id, or have no
		// customer id and her proven email.
		{"?customer_id=CUST-001", []string{"BY-EMAIL", "BY-CLIENT-ID"}},
		{"?customer_id=cust-001", []string{"BY-EMAIL", "BY-CLIENT-ID"}},
		// Uma's email is not proven: it links nothing.
		{"?customer_id=CUST-002", nil},
		// A customer id no account holds finds the licenses naming it.
		{"?customer_id=CUST-777", []string{"SOMEONE-ELSE"}},
		{"?email=ann@example.com", []string{"SOMEONE-ELSE", "BY-EMAIL"}},
		{"?search=by-", []string{"BY-EMAIL", "BY-CLIENT-ID"}},
		{"?keyword=777", []string{"SOMEONE-ELSE"}},
		{"?product_reference_id=other", []string{"UMA-EMAIL", "SOMEONE-ELSE"}},
		{"?status=expired", []string{"UMA-EMAIL"}},
		{"?status=blocked", []string{"BLOCKED"}},
		{"?status=valid&product_reference_id=ACME", []string{"BY-EMAIL", "BY-CLIENT-ID"}},
		{"?search=' OR 1=1 --", nil},
		{"?customer_id=x' OR '1'='1", nil},
		{"?email=%27%3B DELETE FROM licenses;--", nil},
		{"?product_reference_id=ACME' --", nil},
	}
	for _, c := range cases {
		items, _ := list(t, a.get("/api/internal/product-licenses"+strings.ReplaceAll(c.query, " ", "%20")))
		if got := field(items, "license_code"); !slices.Equal(got, c.want) && !(len(got) == 0 && c.want == nil) {
			t.Errorf("%s: %v, want %v", c.query, got, c.want)
		}
	}
	want(t, a.get("/api/internal/product-licenses?status=gone"), 422,
		`{"status":false,"is_active":false,"message":"The selected status is invalid.","errors":{"status":["The selected status is invalid."]}}`)
	if items, _ := list(t, a.get("/api/internal/product-licenses")); len(items) != 5 {
		t.Fatal("the SQL-looking filters changed nothing", len(items))
	}
}

func TestLicenseFile(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, nil)
	data(t, a.do("POST", "/api/internal/customers", map[string]any{"name": "Ann Lee", "email": "ann@example.com", "client_id": "CUST-001"}), 201)
	data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{
		"product_id": "ACME", "license_code": "FILE-1", "email": "ANN@example.com", "type": "perpetual", "parallel_uses": 1,
		"domains": "example.com", "updates_until": "2025-01-15",
	}), 201)

	r := a.get("/api/internal/product-licenses/file-1/file")
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="ACME_FILE-1.lic"` ||
		!strings.HasPrefix(r.Body, "-----BEGIN LICENSOR LICENSE-----\n") || !strings.HasSuffix(r.Body, "-----END LICENSOR LICENSE-----\n") {
		t.Fatalf("%d %v\n%s", r.StatusCode, r.Header, r.Body)
	}
	f, err := a.env.Nodes[0].Signing.VerifyLicenseFile([]byte(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	// The license links to Ann by her confirmed email: the file names her.
	if f.LicenseCode != "FILE-1" || f.ProductRef != "ACME" || f.ProductName != "Acme CMS" || *f.ClientID != "CUST-001" ||
		*f.Email != "ann@example.com" || *f.Type != "perpetual" || *f.ParallelUses != 1 || !slices.Equal(f.Domains, []string{"example.com"}) ||
		!f.UpdatesUntil.Equal(time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)) || f.ExpiresAt != nil || time.Since(f.IssuedAt) > time.Minute {
		t.Fatalf("%+v", f)
	}
	want(t, a.get("/api/internal/product-licenses/NOPE/file"), 404, `{"status":false,"is_active":false,"message":"Product license not found."}`)
}
