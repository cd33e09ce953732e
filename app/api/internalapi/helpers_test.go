package internalapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web/webtest"
)

// api is one test's app with the keys the tests call it with.
type api struct {
	t   *testing.T
	env *servertest.Env
	c   *webtest.Client
	// Keys: every internal scope ("Shop"), no scope at all but special,
	// one scope only, and an external key.
	full, special, listOnly, external string
}

func newAPI(t *testing.T) *api {
	t.Helper()
	env := servertest.New(t)
	a := &api{t: t, env: env, c: env.Client(t)}
	a.full = a.key(apikeys.CreateParams{Name: "Shop", Type: apikeys.TypeInternal})
	a.special = a.key(apikeys.CreateParams{Name: "Back office", Type: apikeys.TypeInternal, Scopes: []string{"connection:check"}, Special: true})
	a.listOnly = a.key(apikeys.CreateParams{Name: "Reports", Type: apikeys.TypeInternal, Scopes: []string{"products:list", "licenses:list"}})
	a.external = a.key(apikeys.CreateParams{Name: "Client", Type: apikeys.TypeExternal})
	return a
}

func (a *api) key(p apikeys.CreateParams) string {
	a.t.Helper()
	plain, _, err := apikeys.Create(context.Background(), a.env.DB.Bun, p, time.Now())
	if err != nil {
		a.t.Fatal(err)
	}
	return plain
}

// do sends a request with the full key; body is JSON (any value, or a raw
// string), or a form (url.Values). headers are name, value pairs and may
// replace the key.
func (a *api) do(method, path string, body any, headers ...string) *webtest.Response {
	a.t.Helper()
	var r *http.Request
	var err error
	switch b := body.(type) {
	case nil:
		r, err = http.NewRequest(method, path, nil)
	case url.Values:
		r, err = http.NewRequest(method, path, strings.NewReader(b.Encode()))
		if err == nil {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	case string:
		r, err = http.NewRequest(method, path, strings.NewReader(b))
		if err == nil {
			r.Header.Set("Content-Type", "application/json")
		}
	default:
		raw, merr := json.Marshal(b)
		if merr != nil {
			a.t.Fatal(merr)
		}
		r, err = http.NewRequest(method, path, bytes.NewReader(raw))
		if err == nil {
			r.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		a.t.Fatal(err)
	}
	r.Header.Set("X-API-KEY", a.full)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return a.c.Do(r)
}

func (a *api) get(path string, headers ...string) *webtest.Response {
	a.t.Helper()
	return a.do("GET", path, nil, headers...)
}

// want checks status and that the body is exactly body.
func want(t *testing.T, r *webtest.Response, status int, body string) {
	t.Helper()
	if r.StatusCode != status || r.Body != body {
		t.Fatalf("%s %s: got %d %s\nwant %d %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.Body, status, body)
	}
}

// wantStatus checks the status and decodes the JSON body.
func wantStatus(t *testing.T, r *webtest.Response, status int) map[string]any {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: got %d %s, want %d", r.Request.Method, r.Request.URL.String(), r.StatusCode, r.Body, status)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q", r.Request.Method, r.Request.URL.Path, ct)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("%s %s: %v in %s", r.Request.Method, r.Request.URL.Path, err, r.Body)
	}
	return m
}

// data returns the "data" object of a single-resource answer.
func data(t *testing.T, r *webtest.Response, status int) map[string]any {
	t.Helper()
	m := wantStatus(t, r, status)
	d, ok := m["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data object in %s", r.Body)
	}
	return d
}

// list returns the items of a page and the whole envelope.
func list(t *testing.T, r *webtest.Response) ([]map[string]any, map[string]any) {
	t.Helper()
	m := wantStatus(t, r, 200)
	raw, ok := m["data"].([]any)
	if !ok {
		t.Fatalf("no data list in %s", r.Body)
	}
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i] = x.(map[string]any)
	}
	return out, m
}

// field collects one field of items as strings.
func field(items []map[string]any, name string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		switch v := it[name].(type) {
		case string:
			out[i] = v
		case nil:
			out[i] = "<nil>"
		default:
			b, _ := json.Marshal(v)
			out[i] = string(b)
		}
	}
	return out
}

// keysInOrder returns the keys of a JSON object as they appear in raw.
func keysInOrder(t *testing.T, raw string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// dataRaw is the raw JSON of the "data" member.
func dataRaw(t *testing.T, body string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	return string(m["data"])
}

// activity returns the newest activity-log entries, newest first.
func (a *api) activity(n int) []activityRow {
	a.t.Helper()
	var rows []activityRow
	err := a.env.DB.Bun.NewRaw("SELECT message, actor_type, actor_name, coalesce(ip, '') AS ip FROM activity_log ORDER BY id DESC LIMIT ?", n).
		Scan(context.Background(), &rows)
	if err != nil {
		a.t.Fatal(err)
	}
	return rows
}

type activityRow struct {
	Message   string `bun:"message"`
	ActorType string `bun:"actor_type"`
	ActorName string `bun:"actor_name"`
	IP        string `bun:"ip"`
}

// exec runs SQL on the test database.
func (a *api) exec(query string, args ...any) {
	a.t.Helper()
	if _, err := a.env.DB.Bun.ExecContext(context.Background(), query, args...); err != nil {
		a.t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// activate activates license code from host through the licensing service,
// as the external API does, and returns the activation id.
func (a *api) activate(t *testing.T, code, host string) int64 {
	t.Helper()
	ctx := context.Background()
	l, err := licensing.ByCode(ctx, a.env.DB.Bun, code)
	if err != nil {
		t.Fatal(err)
	}
	p, err := catalog.Get(ctx, a.env.DB.Bun, l.ProductID)
	if err != nil {
		t.Fatal(err)
	}
	client := "client"
	if l.CustomerID != nil {
		client = *l.CustomerID
	}
	res, err := licensing.NewService(licensing.Options{}).Activate(ctx, a.env.DB.Bun, settings.Defaults(), licensing.ActivateRequest{
		ProductRef: p.ReferenceID, LicenseCode: code, ClientName: client,
		Caller: licensing.Caller{IP: "203.0.113.9", Host: host, URL: "https://" + host, UserAgent: "test/1.0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure != nil {
		t.Fatalf("activate %s: %+v", code, *res.Failure)
	}
	return res.Activation.ID
}
