package internalapi_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// legacyCall posts fields to a legacy call as JSON or as a form.
type legacyClient struct {
	a      *api
	prefix string
	form   bool
}

func (l legacyClient) post(name string, fields map[string]string, headers ...string) (int, string) {
	l.a.t.Helper()
	var body any
	if l.form {
		v := url.Values{}
		for k, x := range fields {
			v.Set(k, x)
		}
		body = v
	} else {
		if fields == nil {
			fields = map[string]string{}
		}
		b, _ := json.Marshal(fields)
		body = string(b)
	}
	r := l.a.do("POST", l.prefix+"/"+name, body, headers...)
	return r.StatusCode, r.Body
}

func (l legacyClient) want(name string, fields map[string]string, status int, body string) {
	l.a.t.Helper()
	if gotStatus, got := l.post(name, fields); gotStatus != status || got != body {
		l.a.t.Fatalf("%s/%s (form %v): got %d %s\nwant %d %s", l.prefix, name, l.form, gotStatus, got, status, body)
	}
}

func forEachLegacyClient(t *testing.T, fn func(t *testing.T, a *api, l legacyClient)) {
	for _, prefix := range []string{"/api", "/api_internal"} {
		for _, form := range []bool{false, true} {
			name := prefix + " json"
			if form {
				name = prefix + " form"
			}
			t.Run(name, func(t *testing.T) {
				a := newAPI(t)
				fn(t, a, legacyClient{a: a, prefix: prefix, form: form})
			})
		}
	}
}

const (
	legacyMissing = `{"status":false,"is_active":false,"message":"Incorrect method or missing values, please check."}`
	noProduct     = `{"status":false,"is_active":false,"message":"Product ID specified is incorrect, please recheck."}`
	noLicense     = `{"status":false,"is_active":false,"message":"License code specified is incorrect, please recheck."}`
)

func TestLegacyProducts(t *testing.T) {
	t.Parallel()
	forEachLegacyClient(t, func(t *testing.T, a *api, l legacyClient) {
		l.want("check_connection_int", nil, 200, `{"status":true,"message":"Connection successful."}`)

		l.want("add_product", map[string]string{"product_name": "Acme CMS", "product_id": "ACME1", "envato_item_id": "123", "product_details": "CMS"}, 200,
			`{"status":true,"message":"New product Acme CMS having ID ACME1 was successfully added.","product_id":"ACME1"}`)
		status, body := l.post("add_product", map[string]string{"product_name": "Generated"})
		if m := regexp.MustCompile(`^\{"status":true,"message":"New product Generated having ID ([0-9A-F]{8}) was successfully added.","product_id":"([0-9A-F]{8})"\}$`).FindStringSubmatch(body); status != 200 || m == nil || m[1] != m[2] {
			t.Fatalf("%d %s", status, body)
		}
		l.want("add_product", map[string]string{"product_name": "Again", "product_id": "acme1"}, 200,
			`{"status":false,"is_active":false,"message":"Provided product ID already exists, please recheck."}`)
		l.want("add_product", map[string]string{"product_name": "Bad", "product_id": "ACME-1"}, 400,
			`{"status":false,"is_active":false,"message":"Provided product ID is invalid, please check."}`)
		l.want("add_product", map[string]string{"product_id": "X1"}, 400, legacyMissing)
		l.want("add_product", map[string]string{"product_name": ""}, 400, legacyMissing)
		if log := a.activity(1)[0]; !strings.HasPrefix(log.Message, "Product Generated created via API.") || log.ActorName != "Shop" {
			t.Fatal(log)
		}

		a.env.SetSettings(t, map[string]string{"timezone": "America/New_York"})
		a.exec(`INSERT INTO product_versions (product_id, version_id, version, released_at) VALUES (1, 'V1', '1.0.0', '2024-01-15 03:00:00+00'), (1, 'V2', '1.1.0', '2024-02-01 12:00:00+00')`)
		product := `"product_id":"ACME1","envato_item_id":"123","product_name":"Acme CMS","product_details":"CMS","latest_version":"1.1.0",` +
			`"latest_version_release_date":"2024-02-01 07:00:00","is_product_active":true,"requires_license_for_downloading_updates":false`
		l.want("get_product", map[string]string{"product_id": "acme1"}, 200, `{"status":true,"message":"Product details fetched successfully.",`+product+`}`)
		l.want("get_product", map[string]string{"product_id": "NOPE"}, 200, noProduct)
		l.want("get_product", nil, 400, legacyMissing)

		status, body = l.post("get_products", nil)
		if status != 200 || !strings.HasPrefix(body, `{"status":true,"message":"Products fetched successfully.","products":[{`+product+`},{"product_id":"`) {
			t.Fatalf("%d %s", status, body)
		}

		l.want("mark_product_inactive", map[string]string{"product_id": "ACME1"}, 200, `{"status":true,"message":"Product Acme CMS marked as inactive."}`)
		l.want("mark_product_inactive", map[string]string{"product_id": "ACME1"}, 200, `{"status":false,"is_active":false,"message":"Product Acme CMS is already inactive."}`)
		l.want("mark_product_active", map[string]string{"product_id": "ACME1"}, 200, `{"status":true,"message":"Product Acme CMS marked as active."}`)
		l.want("mark_product_active", map[string]string{"product_id": "ACME1"}, 200, `{"status":false,"is_active":false,"message":"Product Acme CMS is already active."}`)
		l.want("mark_product_active", map[string]string{"product_id": "NOPE"}, 200, noProduct)
		l.want("mark_product_inactive", nil, 400, legacyMissing)
	})
}

func TestLegacyLicenses(t *testing.T) {
	t.Parallel()
	forEachLegacyClient(t, func(t *testing.T, a *api, l legacyClient) {
		withProduct(t, a, map[string]any{"default_parallel_uses": 3})
		a.env.SetSettings(t, map[string]string{"timezone": "Europe/Berlin"})

		l.want("create_license", map[string]string{
			"product_id": "acme", "license_code": "LB_code-1", "license_type": "Regular", "invoice_number": "INV-9", "client_name": "CUST-1",
			"client_email": "ann@example.com", "comments": "from shop", "licensed_ips": "10.0.0.1, 203.0.113.9", "licensed_domains": "a.example.com,b.example.com",
			"support_end_date": "2099-01-01", "updates_end_date": "2099-06-01 12:30:00", "expiry_date": "", "license_uses": "5",
		}, 200, `{"status":true,"message":"New Acme CMS license LB_code-1 was successfully added.","license_code":"LB_code-1"}`)
		if log := a.activity(1)[0]; log.Message != "License LB_code-1 created via API." {
			t.Fatal(log)
		}
		license := func(extra string) string {
			return `{"status":true,"message":"License details fetched successfully.","license_code":"LB_code-1","product_id":"ACME","product_name":"Acme CMS",` +
				`"license_type":"Regular","client_name":"CUST-1","client_email":"ann@example.com","invoice_number":"INV-9","license_comments":"from shop",` +
				extra
		}
		status, body := l.post("get_license", map[string]string{"license_code": "lb_CODE-1"})
		wantPrefix := license(`"licensed_ips":"10.0.0.1,203.0.113.9","licensed_domains":"a.example.com,b.example.com","uses":5,"uses_left":5,` +
			`"parallel_uses":3,"parallel_uses_left":3,"license_expiry":null,"support_expiry":"2099-01-01 00:00:00","updates_expiry":"2099-06-01 12:30:00","date_modified":"`)
		wantSuffix := `","is_blocked":false,"is_a_envato_purchase_code":false,"is_valid_for_future_activations":true}`
		if status != 200 || !strings.HasPrefix(body, wantPrefix) || !strings.HasSuffix(body, wantSuffix) {
			t.Fatalf("%d %s", status, body)
		}

		l.want("create_license", map[string]string{"product_id": "ACME", "license_code": "lb_CODE-1"}, 200,
			`{"status":false,"is_active":false,"message":"Provided license code already exists, please recheck."}`)
		l.want("create_license", map[string]string{"product_id": "ACME", "license_code": "bad.code"}, 400,
			`{"status":false,"is_active":false,"message":"Provided license code is invalid, please check."}`)
		l.want("create_license", map[string]string{"product_id": "ACME", "client_email": "not-an-email"}, 200,
			`{"status":false,"is_active":false,"message":"Provided client email is invalid, please check."}`)
		l.want("create_license", map[string]string{"product_id": "NOPE"}, 200, noProduct)
		l.want("create_license", map[string]string{"license_code": "X"}, 400, legacyMissing)
		l.want("create_license", map[string]string{"product_id": "ACME", "license_uses": "-2"}, 200,
			`{"status":false,"is_active":false,"message":"The uses field must be at least 0."}`)
		status, body = l.post("create_license", map[string]string{"product_id": "ACME"})
		if m := regexp.MustCompile(`^\{"status":true,"message":"New Acme CMS license ([0-9A-F-]{36}) was successfully added.","license_code":"([0-9A-F-]{36})"\}$`).FindStringSubmatch(body); status != 200 || m == nil || m[1] != m[2] {
			t.Fatalf("generated code: %d %s", status, body)
		}

		// edit_license: absent keeps, present but empty clears.
		l.want("edit_license", map[string]string{"license_code": "LB_CODE-1", "invoice_number": "", "licensed_domains": "", "license_uses": "", "comments": "edited",
			"expiry_date": "2099-12-31"}, 200, `{"status":true,"message":"License LB_code-1 was successfully edited."}`)
		_, body = l.post("get_license", map[string]string{"license_code": "LB_code-1"})
		for _, part := range []string{`"invoice_number":null`, `"licensed_domains":null`, `"uses":null`, `"uses_left":null`, `"license_comments":"edited"`,
			`"license_expiry":"2099-12-31 00:00:00"`, `"licensed_ips":"10.0.0.1,203.0.113.9"`, `"client_name":"CUST-1"`} {
			if !strings.Contains(body, part) {
				t.Fatalf("missing %s in %s", part, body)
			}
		}
		if log := a.activity(1)[0]; log.Message != "License LB_code-1 updated via API." {
			t.Fatal(log)
		}
		l.want("edit_license", map[string]string{"license_code": "NOPE", "comments": "x"}, 200, noLicense)
		l.want("edit_license", map[string]string{"comments": "x"}, 400, legacyMissing)
		l.want("edit_license", map[string]string{"license_code": "LB_code-1", "client_email": "nope"}, 200,
			`{"status":false,"is_active":false,"message":"Provided client email is invalid, please check."}`)

		l.want("get_license", map[string]string{"license_code": "NOPE"}, 200, noLicense)
		l.want("get_license", nil, 400, legacyMissing)

		status, body = l.post("search_license", map[string]string{"keyword": "code"})
		if status != 200 || body != `{"status":true,"message":"Search results fetched successfully.","results_count":1,"results":[{"product_id":"ACME","license_code":"LB_code-1","license_type":"Regular","client_name":"CUST-1","client_email":"ann@example.com"}]}` {
			t.Fatalf("%d %s", status, body)
		}
		l.want("search_license", map[string]string{"keyword": "ann@example"}, 200,
			`{"status":true,"message":"Search results fetched successfully.","results_count":0,"results":"No corresponding license was found."}`)
		l.want("search_license", map[string]string{"keyword": "' OR 1=1 --"}, 200,
			`{"status":true,"message":"Search results fetched successfully.","results_count":0,"results":"No corresponding license was found."}`)
		l.want("search_license", map[string]string{"keyword": ""}, 400, `{"status":false,"is_active":false,"message":"No keywords were provided for the search, please check."}`)

		a.activate(t, "LB_code-1", "one.example.com")
		a.activate(t, "LB_code-1", "two.example.com")
		l.want("deactivate_license_activations", map[string]string{"license_code": "lb_code-1"}, 200, `{"status":true,"message":"License LB_code-1 was successfully deactivated."}`)
		l.want("deactivate_license_activations", map[string]string{"license_code": "lb_code-1"}, 200, `{"status":false,"is_active":false,"message":"License LB_code-1 is already deactivated."}`)
		if d := data(t, a.get("/api/internal/product-licenses/LB_code-1"), 200); d["active_activations"] != 0.0 || d["total_activations"] != 2.0 {
			t.Fatal(d)
		}
		l.want("deactivate_license_activations", map[string]string{"license_code": "NOPE"}, 200, noLicense)

		l.want("block_license", map[string]string{"license_code": "LB_code-1"}, 200, `{"status":true,"message":"License LB_code-1 was successfully blocked."}`)
		l.want("block_license", map[string]string{"license_code": "LB_code-1"}, 200, `{"status":false,"is_active":false,"message":"License LB_code-1 is already blocked."}`)
		_, body = l.post("get_license", map[string]string{"license_code": "LB_code-1"})
		if !strings.Contains(body, `"is_blocked":true`) || !strings.Contains(body, `"is_valid_for_future_activations":false`) {
			t.Fatal(body)
		}
		l.want("unblock_license", map[string]string{"license_code": "LB_code-1"}, 200, `{"status":true,"message":"License LB_code-1 was successfully unblocked."}`)
		l.want("unblock_license", map[string]string{"license_code": "LB_code-1"}, 200, `{"status":false,"is_active":false,"message":"License LB_code-1 is already unblocked."}`)
		l.want("block_license", nil, 400, legacyMissing)

		l.want("delete_license", map[string]string{"license_code": "LB_code-1"}, 200, `{"status":true,"message":"License LB_code-1 was successfully deleted."}`)
		l.want("delete_license", map[string]string{"license_code": "LB_code-1"}, 200, noLicense)
		if log := a.activity(1)[0]; log.Message != "License LB_code-1 deleted via API." {
			t.Fatal(log)
		}
	})
}

func TestLegacyListsArriveAsLists(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	withProduct(t, a, nil)
	// JSON arrays and repeated form keys are lists as well.
	want(t, a.do("POST", "/api/create_license", `{"product_id":"ACME","license_code":"L1","licensed_domains":["a.example.com","www.b.example.com"]}`), 200,
		`{"status":true,"message":"New Acme CMS license L1 was successfully added.","license_code":"L1"}`)
	want(t, a.do("POST", "/api_internal/create_license", url.Values{"product_id": {"ACME"}, "license_code": {"L2"}, "licensed_ips[]": {"10.0.0.*", "192.0.2.1"}}), 200,
		`{"status":true,"message":"New Acme CMS license L2 was successfully added.","license_code":"L2"}`)
	if d := data(t, a.get("/api/internal/product-licenses/L1"), 200); field([]map[string]any{d}, "domains")[0] != `["a.example.com","b.example.com"]` {
		t.Fatal(d)
	}
	if d := data(t, a.get("/api/internal/product-licenses/L2"), 200); field([]map[string]any{d}, "ips")[0] != `["10.0.0.0/24","192.0.2.1"]` {
		t.Fatal(d)
	}
}
