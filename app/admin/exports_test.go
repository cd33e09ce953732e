package admin_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

// An export streams after its handler has returned, in batches each read
// with the request's filters, while fasthttp reuses the request's buffers
// for the connection's next request (Fiber runs without Immutable, so a
// query value is a view of them). The test plays that reuse at a known
// point: it reads only the start of the export, so the stream's goroutine
// waits inside the first batch (a batch's rows are many times what the
// stream buffers ahead), then puts the next request's query where the
// first one's was, then reads the rest. Every row must still match the
// first request's search.
func TestExportKeepsItsFiltersWhenTheRequestIsReused(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	ctx := context.Background()
	seedLicense(t, e, "SEED-1", "", "")
	// 1,500 customers and licenses match "alice", more than one batch
	// (1,000), each row long; "bobby"'s, created after them, would follow
	// in a second batch read with the second request's search.
	for _, insert := range []string{
		`INSERT INTO customers (name, email, client_id)
		SELECT who || ' ' || i || ' ' || repeat('x', 100), who || i || '@example.com', upper(who) || '-' || i
		FROM (VALUES (1, 'alice'), (2, 'bobby')) AS w(n, who), generate_series(1, 1500) AS i ORDER BY w.n, i`,
		`INSERT INTO licenses (product_id, license_code, email)
		SELECT p.id, upper(who) || '-' || i || '-' || repeat('X', 60), 'someone' || i || '@example.com'
		FROM products AS p, (VALUES (1, 'alice'), (2, 'bobby')) AS w(n, who), generate_series(1, 1500) AS i
		WHERE p.reference_id = 'ACME' ORDER BY w.n, i`,
	} {
		if _, err := e.DB.Bun.ExecContext(ctx, insert); err != nil {
			t.Fatal(err)
		}
	}
	client := e.SignIn(t)
	h := e.App.Handler()
	for _, list := range []string{"customers", "licenses"} {
		rctx := new(fasthttp.RequestCtx)
		rctx.Init(exportRequest(client, "/admin/"+list+"/export?format=csv&q=alice"), &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
		h(rctx)
		if rctx.Response.StatusCode() != 200 || !rctx.Response.IsBodyStream() {
			t.Fatalf("%s export: %d, streamed %v: %s", list, rctx.Response.StatusCode(), rctx.Response.IsBodyStream(), rctx.Response.Body())
		}
		body := bufio.NewReader(rctx.Response.BodyStream())
		header, err := body.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}

		// The connection's next request, as fasthttp's server reads it into
		// the same RequestCtx: its query parsed into the same buffers.
		rctx.Request.Reset()
		exportRequest(client, "/admin/"+list+"/export?format=csv&q=bobby").CopyTo(&rctx.Request)
		if got := string(rctx.QueryArgs().Peek("q")); got != "bobby" {
			t.Fatalf("next request's q: %q", got)
		}

		rest, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		rows := strings.Split(strings.TrimSuffix(string(rest), "\n"), "\n")
		if !strings.Contains(header, "email") || len(rows) != 1500 {
			t.Fatalf("%s export: header %q and %d rows, want 1500", list, header, len(rows))
		}
		for _, row := range rows {
			if !strings.Contains(strings.ToLower(row), "alice") {
				t.Fatalf("%s export: a row the export's search (alice) does not match, from the next request's (bobby):\n%s", list, row)
			}
		}
	}
}

// exportRequest is a GET of path with client's cookies.
func exportRequest(client *webtest.Client, path string) *fasthttp.Request {
	req := new(fasthttp.Request)
	req.SetRequestURI(webtest.BaseURL + path)
	base, _ := url.Parse(webtest.BaseURL)
	for _, ck := range client.Jar.Cookies(base) {
		req.Header.SetCookie(ck.Name, ck.Value)
	}
	return req
}
