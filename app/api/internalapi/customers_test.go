package internalapi_test

import (
	"slices"
	"testing"
)

func TestCustomerCRUD(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	r := a.do("POST", "/api/internal/customers", map[string]any{"name": "Ann Lee", "email": "ann@example.com", "password": "long enough password"})
	d := data(t, r, 201)
	wantKeys := []string{"id", "name", "email", "client_id", "avatar_url", "confirmed_at", "last_login_at", "created_at", "updated_at"}
	if got := keysInOrder(t, dataRaw(t, r.Body)); !slices.Equal(got, wantKeys) {
		t.Fatalf("keys %v", got)
	}
	clientID := d["client_id"].(string)
	if len(clientID) != 36 || d["avatar_url"] != nil || d["last_login_at"] != nil || d["confirmed_at"] == nil || !stampRE.MatchString(d["confirmed_at"].(string)) {
		t.Fatal(r.Body)
	}
	if log := a.activity(1)[0]; log.Message != "Customer ann@example.com created via API." || log.ActorName != "Shop" {
		t.Fatal(log)
	}
	d = data(t, a.do("POST", "/api/internal/customers", map[string]any{"name": "Uma", "email": "uma@example.com", "client_id": "CUST-002", "confirmed": "0"}), 201)
	if d["confirmed_at"] != nil || d["client_id"] != "CUST-002" {
		t.Fatal(d)
	}

	for _, ref := range []string{clientID, "cust-002", "1"} {
		data(t, a.get("/api/internal/customers/"+ref), 200)
	}
	want(t, a.get("/api/internal/customers/nobody"), 404, `{"status":false,"is_active":false,"message":"Customer not found."}`)

	cases := []struct {
		body any
		want string
	}{
		{map[string]any{}, `{"status":false,"is_active":false,"message":"The name field is required. (and 1 more error)","errors":{"name":["The name field is required."],"email":["The email field is required."]}}`},
		{map[string]any{"name": "A", "email": "nope"}, `{"status":false,"is_active":false,"message":"The name field must be at least 2 characters. (and 1 more error)","errors":{"name":["The name field must be at least 2 characters."],"email":["The email field must be a valid email address."]}}`},
		{map[string]any{"name": "Ann Two", "email": "ANN@example.com", "client_id": "cust-002"}, `{"status":false,"is_active":false,"message":"The email has already been taken. (and 1 more error)","errors":{"email":["The email has already been taken."],"client_id":["The client id has already been taken."]}}`},
		{map[string]any{"name": "Bob", "email": "bob@example.com", "client_id": "has space"}, `{"status":false,"is_active":false,"message":"The client id field format is invalid.","errors":{"client_id":["The client id field format is invalid."]}}`},
		{map[string]any{"name": "Bob", "email": "bob@example.com", "password": "short"}, `{"status":false,"is_active":false,"message":"The password field must be at least 10 characters.","errors":{"password":["The password field must be at least 10 characters."]}}`},
		{map[string]any{"name": "Bob", "email": "bob@example.com", "confirmed": "perhaps"}, `{"status":false,"is_active":false,"message":"The confirmed field must be true or false.","errors":{"confirmed":["The confirmed field must be true or false."]}}`},
	}
	for _, c := range cases {
		want(t, a.do("POST", "/api/internal/customers", c.body), 422, c.want)
	}

	d = data(t, a.do("PATCH", "/api/internal/customers/CUST-002", map[string]any{"name": "Uma Ray", "confirmed": true}), 200)
	if d["name"] != "Uma Ray" || d["email"] != "uma@example.com" || d["confirmed_at"] == nil {
		t.Fatal(d)
	}
	d = data(t, a.do("PUT", "/api/internal/customers/2", map[string]any{"client_id": "CUST-003"}), 200)
	if d["client_id"] != "CUST-003" || d["name"] != "Uma Ray" {
		t.Fatal(d)
	}
	want(t, a.do("PATCH", "/api/internal/customers/CUST-003", map[string]any{"email": "ann@example.com"}), 422,
		`{"status":false,"is_active":false,"message":"The email has already been taken.","errors":{"email":["The email has already been taken."]}}`)
	want(t, a.do("PATCH", "/api/internal/customers/CUST-002", map[string]any{"name": "x y"}), 404, `{"status":false,"is_active":false,"message":"Customer not found."}`)

	// Deleting a customer keeps their licenses.
	withProduct(t, a, nil)
	data(t, a.do("POST", "/api/internal/product-licenses", map[string]any{"product_id": "ACME", "license_code": "UMA", "customer_id": "CUST-003"}), 201)
	want(t, a.do("DELETE", "/api/internal/customers/CUST-003", nil), 200, `{"status":true,"message":"Customer deleted successfully."}`)
	want(t, a.get("/api/internal/customers/CUST-003"), 404, `{"status":false,"is_active":false,"message":"Customer not found."}`)
	if d := data(t, a.get("/api/internal/product-licenses/UMA"), 200); d["customer_id"] != "CUST-003" {
		t.Fatal(d)
	}
	if log := a.activity(1)[0]; log.Message != "Customer uma@example.com deleted via API." {
		t.Fatal(log)
	}
}

func TestCustomerList(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, c := range []map[string]any{
		{"name": "Ann Lee", "email": "ann@example.com", "client_id": "CUST-001"},
		{"name": "Bob Ray", "email": "bob@example.org", "client_id": "CUST-002", "confirmed": false},
		{"name": "Cleo", "email": "cleo@example.com", "client_id": "ZED-003"},
	} {
		data(t, a.do("POST", "/api/internal/customers", c), 201)
	}
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"Cleo", "Bob Ray", "Ann Lee"}},
		{"?sort=email", []string{"Ann Lee", "Bob Ray", "Cleo"}},
		{"?sort=-name", []string{"Cleo", "Bob Ray", "Ann Lee"}},
		{"?search=example.org", []string{"Bob Ray"}},
		{"?search=zed", []string{"Cleo"}},
		{"?search=lee", []string{"Ann Lee"}},
		{"?confirmed=false", []string{"Bob Ray"}},
		{"?confirmed=true&sort=name", []string{"Ann Lee", "Cleo"}},
		{"?search=%27)%20OR%20(1=1", nil},
	}
	for _, c := range cases {
		items, _ := list(t, a.get("/api/internal/customers"+c.query))
		if got := field(items, "name"); !slices.Equal(got, c.want) && !(len(got) == 0 && c.want == nil) {
			t.Errorf("%s: %v, want %v", c.query, got, c.want)
		}
	}
	_, env := list(t, a.get("/api/internal/customers?per_page=2&search=example"))
	links := env["links"].(map[string]any)
	if links["next"] != "http://localhost:8080/api/internal/customers?per_page=2&search=example&page=2" || env["meta"].(map[string]any)["last_page"] != 2.0 {
		t.Fatal(links)
	}
}
