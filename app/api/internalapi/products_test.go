package internalapi_test

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var stampRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

func TestProductCreateReadShapes(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	r := a.do("POST", "/api/internal/products", map[string]any{
		"name": "Acme CMS", "reference_id": "ACME-CMS", "description": "The CMS.", "license_update": "1",
		"default_parallel_uses": 1, "default_updates_until_days": "365", "default_license_type": "perpetual", "grace_days": 7,
		"heartbeat_interval": 60, "heartbeat_missed": "keep",
	}, "X-API-IP", "203.0.113.7")
	d := data(t, r, 201)
	wantKeys := []string{"id", "name", "reference_id", "envato_id", "description", "license_update", "serve_latest_updates", "is_active",
		"default_license_type", "default_uses", "default_parallel_uses", "default_expiry_days", "default_updates_until_days",
		"default_support_until_days", "default_comments", "default_expiry_start", "grace_days", "entitlements", "default_entitlements",
		"heartbeat_interval", "heartbeat_tolerance", "heartbeat_missed", "default_floating", "latest_version", "created_at", "updated_at"}
	if got := keysInOrder(t, dataRaw(t, r.Body)); !slices.Equal(got, wantKeys) {
		t.Fatalf("keys %v", got)
	}
	if d["reference_id"] != "ACME-CMS" || d["license_update"] != true || d["serve_latest_updates"] != true || d["is_active"] != true ||
		d["default_parallel_uses"] != 1.0 || d["default_updates_until_days"] != 365.0 || d["default_uses"] != nil || d["grace_days"] != 7.0 ||
		d["heartbeat_interval"] != 60.0 || d["heartbeat_tolerance"] != 60.0 || d["heartbeat_missed"] != "keep" ||
		d["envato_id"] != nil || d["latest_version"] != nil || !stampRE.MatchString(d["created_at"].(string)) {
		t.Fatalf("%s", r.Body)
	}
	if log := a.activity(1)[0]; log.Message != "Product Acme CMS created via API." || log.ActorType != "api_key" || log.ActorName != "Shop" || log.IP != "203.0.113.7" {
		t.Fatalf("%+v", log)
	}

	// Read by reference id in any case, or by numeric id; the body is the
	// same resource.
	for _, ref := range []string{"ACME-CMS", "acme-cms", "1"} {
		got := a.get("/api/internal/products/" + ref)
		if got.StatusCode != 200 || dataRaw(t, got.Body) != dataRaw(t, r.Body) {
			t.Fatalf("%s: %d %s", ref, got.StatusCode, got.Body)
		}
	}
	want(t, a.get("/api/internal/products/NOPE"), 404, `{"status":false,"is_active":false,"message":"Product not found."}`)
	want(t, a.get("/api/internal/products/999"), 404, `{"status":false,"is_active":false,"message":"Product not found."}`)

	// The newest active version is the product's latest_version.
	a.exec(`INSERT INTO product_versions (product_id, version_id, version, is_active) VALUES (1, 'V1', '1.2.0', true), (1, 'V2', '1.10.0', true), (1, 'V3', '2.0.0', false)`)
	if d := data(t, a.get("/api/internal/products/ACME-CMS"), 200); d["latest_version"] != "1.10.0" {
		t.Fatal(d["latest_version"])
	}
}

func TestProductCreateGeneratesReferenceAndValidates(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	d := data(t, a.do("POST", "/api/internal/products", map[string]any{"name": "Gen", "status": "draft"}), 201)
	if ok, _ := regexp.MatchString(`^[0-9A-F]{8}$`, d["reference_id"].(string)); !ok || d["is_active"] != false {
		t.Fatalf("%v", d)
	}
	a.env.SetSettings(t, map[string]string{"product_unique_id_format": "uuid"})
	d = data(t, a.do("POST", "/api/internal/products", map[string]any{"name": "UUID", "status": "published", "is_active": nil}), 201)
	if ok, _ := regexp.MatchString(`^[0-9A-F]{8}-[0-9A-F]{4}-`, d["reference_id"].(string)); !ok || d["is_active"] != true {
		t.Fatalf("%v", d)
	}
	data(t, a.do("POST", "/api/internal/products", map[string]any{"name": "Taken", "reference_id": "TAKEN"}), 201)

	cases := []struct {
		body any
		want string
	}{
		{map[string]any{}, `{"status":false,"is_active":false,"message":"The name field is required.","errors":{"name":["The name field is required."]}}`},
		{map[string]any{"name": ""}, `{"status":false,"is_active":false,"message":"The name field is required.","errors":{"name":["The name field is required."]}}`},
		{map[string]any{"name": "X", "reference_id": "taken"}, `{"status":false,"is_active":false,"message":"The reference id has already been taken.","errors":{"reference_id":["The reference id has already been taken."]}}`},
		{map[string]any{"name": "X", "reference_id": "has space"}, `{"status":false,"is_active":false,"message":"The reference id field format is invalid.","errors":{"reference_id":["The reference id field format is invalid."]}}`},
		{map[string]any{"name": strings.Repeat("n", 256), "default_uses": -1}, `{"status":false,"is_active":false,"message":"The name field must not be greater than 255 characters. (and 1 more error)","errors":{"name":["The name field must not be greater than 255 characters."],"default_uses":["The default uses field must be at least 0."]}}`},
		{map[string]any{"name": "X", "license_update": "maybe", "default_uses": "many"}, `{"status":false,"is_active":false,"message":"The license update field must be true or false. (and 1 more error)","errors":{"license_update":["The license update field must be true or false."],"default_uses":["The default uses field must be an integer."]}}`},
		{map[string]any{"name": "X", "heartbeat_interval": 30, "heartbeat_tolerance": -1, "heartbeat_missed": "never"}, `{"status":false,"is_active":false,"message":"The heartbeat interval field must be at least 60. (and 2 more errors)","errors":{"heartbeat_interval":["The heartbeat interval field must be at least 60."],"heartbeat_tolerance":["The heartbeat tolerance field must be at least 0."],"heartbeat_missed":["The selected heartbeat missed is invalid."]}}`},
	}
	for _, c := range cases {
		want(t, a.do("POST", "/api/internal/products", c.body), 422, c.want)
	}
}

func TestProductUpdatePartialWithNullClearing(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	data(t, a.do("POST", "/api/internal/products", map[string]any{
		"name": "Acme", "reference_id": "ACME", "envato_id": "123", "description": "Old", "default_uses": 3, "default_comments": "c",
	}), 201)

	// PATCH: absent keeps, null and "" clear.
	d := data(t, a.do("PATCH", "/api/internal/products/acme", map[string]any{"name": "Acme 2", "envato_id": nil, "default_uses": "", "reference_id": "acme"}), 200)
	if d["name"] != "Acme 2" || d["envato_id"] != nil || d["default_uses"] != nil || d["description"] != "Old" || d["default_comments"] != "c" || d["reference_id"] != "ACME" {
		t.Fatalf("%v", d)
	}
	// PUT is partial too, and takes a form body.
	d = data(t, a.do("PUT", "/api/internal/products/ACME", url.Values{"description": {""}, "serve_latest_updates": {"off"}}), 200)
	if d["name"] != "Acme 2" || d["description"] != nil || d["serve_latest_updates"] != false {
		t.Fatalf("%v", d)
	}
	want(t, a.do("PATCH", "/api/internal/products/ACME", map[string]any{"reference_id": "OTHER"}), 422,
		`{"status":false,"is_active":false,"message":"The reference id cannot be changed.","errors":{"reference_id":["The reference id cannot be changed."]}}`)
	want(t, a.do("PATCH", "/api/internal/products/ACME", map[string]any{"name": nil}), 422,
		`{"status":false,"is_active":false,"message":"The name field is required.","errors":{"name":["The name field is required."]}}`)
	want(t, a.do("PATCH", "/api/internal/products/NOPE", map[string]any{"name": "x"}), 404, `{"status":false,"is_active":false,"message":"Product not found."}`)
	if log := a.activity(1)[0]; log.Message != "Product Acme 2 updated via API." {
		t.Fatal(log)
	}
}

func TestProductActivateDeactivateDelete(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	data(t, a.do("POST", "/api/internal/products", map[string]any{"name": "Acme", "reference_id": "ACME"}), 201)
	for i := 0; i < 2; i++ { // idempotent: the same answer twice
		want(t, a.do("DELETE", "/api/internal/activated-products/acme", nil), 200, `{"status":true,"message":"Product deactivated successfully."}`)
	}
	if d := data(t, a.get("/api/internal/products/ACME"), 200); d["is_active"] != false {
		t.Fatal(d)
	}
	for i := 0; i < 2; i++ {
		want(t, a.do("POST", "/api/internal/activated-products/ACME", nil), 200, `{"status":true,"message":"Product activated successfully."}`)
	}
	want(t, a.do("POST", "/api/internal/activated-products/NOPE", nil), 404, `{"status":false,"is_active":false,"message":"Product not found."}`)
	got := a.activity(3)
	if got[0].Message != "Product Acme activated via API." || got[1].Message != "Product Acme deactivated via API." {
		t.Fatalf("one entry per change, not per call: %+v", got)
	}

	a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "CODE-1"})
	want(t, a.do("DELETE", "/api/internal/products/ACME", nil), 200, `{"status":true,"message":"Product deleted successfully."}`)
	want(t, a.get("/api/internal/products/ACME"), 404, `{"status":false,"is_active":false,"message":"Product not found."}`)
	want(t, a.get("/api/internal/product-licenses/CODE-1"), 404, `{"status":false,"is_active":false,"message":"Product license not found."}`)
	want(t, a.do("DELETE", "/api/internal/products/ACME", nil), 404, `{"status":false,"is_active":false,"message":"Product not found."}`)
	if log := a.activity(1)[0]; log.Message != "Product Acme deleted via API." {
		t.Fatal(log)
	}
}

func TestProductListFiltersSortAndPages(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, p := range []struct{ name, ref, active string }{{"Beta", "B-1", "1"}, {"Alpha", "A-1", "1"}, {"Gamma", "G-1", "0"}} {
		data(t, a.do("POST", "/api/internal/products", map[string]any{"name": p.name, "reference_id": p.ref, "is_active": p.active}), 201)
	}
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"Gamma", "Alpha", "Beta"}},
		{"?sort=name", []string{"Alpha", "Beta", "Gamma"}},
		{"?sort=-reference_id", []string{"Gamma", "Beta", "Alpha"}},
		{"?sort=password", []string{"Gamma", "Alpha", "Beta"}},
		{"?search=a-", []string{"Alpha"}},
		{"?search=mm", []string{"Gamma"}},
		{"?is_active=false", []string{"Gamma"}},
		{"?is_active=1&sort=name", []string{"Alpha", "Beta"}},
		{"?search=%25", nil},
		{"?search=' OR '1'='1", nil},
		{"?search=x%27%3B+DROP+TABLE+products%3B--", nil},
	}
	for _, c := range cases {
		items, _ := list(t, a.get("/api/internal/products"+strings.ReplaceAll(c.query, " ", "+")))
		if got := field(items, "name"); !slices.Equal(got, c.want) && !(len(got) == 0 && c.want == nil) {
			t.Errorf("%s: %v, want %v", c.query, got, c.want)
		}
	}
	want(t, a.get("/api/internal/products?is_active=perhaps"), 422,
		`{"status":false,"is_active":false,"message":"The is active field must be true or false.","errors":{"is_active":["The is active field must be true or false."]}}`)

	// Page 2 of 2 with per_page 2, the other parameters kept in the links.
	r := a.get("/api/internal/products?sort=name&per_page=2&page=2")
	base := "http://localhost:8080/api/internal/products"
	u := func(n string) string { return `"` + base + `?sort=name&per_page=2&page=` + n + `"` }
	wantBody := `{"data":[` + dataItem(t, a, "G-1") + `],"links":{"first":` + u("1") + `,"last":` + u("2") + `,"prev":` + u("1") + `,"next":null},` +
		`"meta":{"current_page":2,"from":3,"last_page":2,"links":[{"url":` + u("1") + `,"label":"&laquo; Previous","active":false},` +
		`{"url":` + u("1") + `,"label":"1","active":false},{"url":` + u("2") + `,"label":"2","active":true},` +
		`{"url":null,"label":"Next &raquo;","active":false}],"path":"` + base + `","per_page":2,"to":3,"total":3}}`
	want(t, r, 200, wantBody)

	// per_page over 100 is clamped; invalid values take the defaults.
	for q, per := range map[string]float64{"?per_page=1000": 100, "?per_page=abc&page=xyz": 15, "?per_page=0": 15, "?per_page=-3&page=-1": 15} {
		_, env := list(t, a.get("/api/internal/products"+q))
		meta := env["meta"].(map[string]any)
		if meta["per_page"] != per || meta["current_page"] != 1.0 {
			t.Errorf("%s: %v", q, meta)
		}
	}
}

// dataItem is the JSON of one product as the API shows it.
func dataItem(t *testing.T, a *api, ref string) string {
	t.Helper()
	return dataRaw(t, a.get("/api/internal/products/"+ref).Body)
}
