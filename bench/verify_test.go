package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
)

const benchHost = "https://bench.example.com"

// verifyEnv is a node with one activation to verify and a special key (no
// rate limit, as bench/load uses).
type verifyEnv struct {
	env  *servertest.Env
	key  string
	body []byte
}

func newVerifyEnv(b testing.TB) *verifyEnv {
	b.Helper()
	e := servertest.New(b)
	ctx := context.Background()
	by := audit.Source{Actor: audit.System}
	key, _, err := apikeys.Create(ctx, e.DB.Bun, apikeys.CreateParams{Name: "bench", Type: apikeys.TypeExternal, Special: true}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := catalog.NewService(nil).CreateProduct(ctx, e.DB.Bun, by, settings.Defaults(), catalog.ProductInput{
		Name: fields.Some("Bench"), ReferenceID: fields.Some("BENCH"),
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := licensing.NewService(licensing.Options{}).CreateLicense(ctx, e.DB.Bun, by, settings.Defaults(), licensing.LicenseInput{
		ProductReferenceID: fields.Some("BENCH"), LicenseCode: fields.Some("BENCH-VERIFY"),
	}); err != nil {
		b.Fatal(err)
	}
	v := &verifyEnv{env: e, key: key}
	status, out := v.serve(b, "/api/external/license/activate", []byte(`{"product_id":"BENCH","license_code":"BENCH-VERIFY"}`))
	var act struct {
		Status bool `json:"status"`
		Data   struct {
			LicenseData string `json:"license_data"`
		} `json:"data"`
	}
	if err := json.Unmarshal(out, &act); status != 200 || err != nil || !act.Status {
		b.Fatalf("activate: %d %s", status, out)
	}
	v.body, _ = json.Marshal(map[string]string{"product_id": "BENCH", "license_data": act.Data.LicenseData})
	if status, out := v.serve(b, "/api/external/license/verify", v.body); status != 200 || !bytes.Contains(out, []byte(`"status":true`)) {
		b.Fatalf("verify: %d %s", status, out)
	}
	return v
}

// serve runs one request through the app's handler, without a network.
func (v *verifyEnv) serve(b testing.TB, path string, body []byte) (int, []byte) {
	var ctx fasthttp.RequestCtx
	v.request(&ctx, path, body)
	v.env.App.Handler()(&ctx)
	return ctx.Response.StatusCode(), append([]byte(nil), ctx.Response.Body()...)
}

func (v *verifyEnv) request(ctx *fasthttp.RequestCtx, path string, body []byte) {
	ctx.Init(v.newRequest(path, body), &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
}

// newRequest is a keyed JSON POST of body to path from benchHost.
func (v *verifyEnv) newRequest(path string, body []byte) *fasthttp.Request {
	req := new(fasthttp.Request)
	req.Header.SetMethod(fiber.MethodPost)
	req.SetRequestURI(path)
	req.Header.SetHost("licensor.test")
	req.Header.SetContentType("application/json")
	req.Header.Set("X-API-KEY", v.key)
	req.Header.Set("X-API-URL", benchHost)
	req.SetBody(body)
	return req
}

// BenchmarkVerifyRouter is a verify through the app's middleware, router,
// pipeline and handler, without the network: the token check, the product
// from the cache and one indexed query.
func BenchmarkVerifyRouter(b *testing.B) {
	v := newVerifyEnv(b)
	h := v.env.App.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			v.request(&ctx, "/api/external/license/verify", v.body)
			h(&ctx)
			if ctx.Response.StatusCode() != 200 {
				b.Errorf("verify: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
				return
			}
		}
	})
}

// BenchmarkVerifyHTTP is a verify over a loopback HTTP connection with
// keep-alive, as an installation's client makes it.
func BenchmarkVerifyHTTP(b *testing.B) {
	v := newVerifyEnv(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = v.env.App.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	b.Cleanup(func() { _ = v.env.App.ShutdownWithTimeout(5 * time.Second) })
	url := "http://" + ln.Addr().String() + "/api/external/license/verify"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(v.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-API-KEY", v.key)
			req.Header.Set("X-API-URL", benchHost)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode != 200 {
				b.Errorf("verify: %d", res.StatusCode)
				return
			}
		}
	})
}
