// Package recipes_test runs the client recipes of docs/api/verifying.md —
// Go, PHP, Python and Node — against a live Licensor: each verifies a
// license file (its machine, its signature, the clock), verifies a signed
// answer with its nonce, and produces an offline activation request and a
// release proof that Licensor accepts.
package recipes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
)

// recipe is one language's recipe and how to run it.
type recipe struct {
	name, file string
	// command returns the command line that runs the recipe, skipping the
	// test (failing it under CI=1) when the language is not installed.
	command func(t *testing.T) []string
}

var recipes = []recipe{
	{"Go", "verify.go", func(t *testing.T) []string {
		goBin, err := exec.LookPath("go") // go test puts its own go first on PATH
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "verify")
		if b, err := exec.Command(goBin, "build", "-o", out, "verify.go").CombinedOutput(); err != nil {
			t.Fatalf("go build verify.go: %v\n%s", err, b)
		}
		return []string{out}
	}},
	{"PHP", "verify.php", func(t *testing.T) []string {
		need(t, "php", "-r", "exit(function_exists('sodium_crypto_sign_verify_detached') ? 0 : 1);")
		return []string{"php", "verify.php"}
	}},
	{"Python", "verify.py", func(t *testing.T) []string {
		need(t, "python3", "-c", "import cryptography")
		return []string{"python3", "verify.py"}
	}},
	{"Node", "verify.js", func(t *testing.T) []string {
		need(t, "node", "-e", "if (typeof fetch !== 'function') process.exit(1)")
		return []string{"node", "verify.js"}
	}},
}

// need checks that an interpreter (and what the recipe needs of it) is
// installed: without it the test skips on a developer's machine and fails
// in CI, whose .ci/run installs it.
func need(t *testing.T, bin string, probe ...string) {
	t.Helper()
	if _, err := exec.LookPath(bin); err == nil {
		if err := exec.Command(bin, probe...).Run(); err == nil {
			return
		}
	}
	if os.Getenv("CI") != "" && os.Getenv("CI") != "0" {
		t.Fatalf("%s (with what the recipe needs) is not installed: .ci/run installs it", bin)
	}
	t.Skipf("%s (with what the recipe needs) is not installed", bin)
}

func TestRecipesOnThePage(t *testing.T) {
	t.Parallel()
	page, err := os.ReadFile("../verifying.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recipes {
		src, err := os.ReadFile(r.file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(page, src) {
			t.Errorf("docs/api/verifying.md does not show %s as it is (copy the file into its block)", r.file)
		}
	}
}

// live is a Licensor node serving on a loopback port, with a product, an
// external API key and the public keys a client ships.
type live struct {
	e        *servertest.Env
	url, key string
	keysFile string
	ring     *signing.KeyRing
	lic      *licensing.Service
	set      *settings.Values
}

func startLive(t *testing.T) *live {
	t.Helper()
	ctx := context.Background()
	e := servertest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.App.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		_ = e.App.ShutdownWithTimeout(5 * time.Second)
		if err := <-served; err != nil {
			t.Logf("serve: %v", err)
		}
	})
	l := &live{e: e, url: "http://" + ln.Addr().String(), ring: e.Nodes[0].Signing, lic: e.Nodes[0].Licensing}
	l.key, _, err = apikeys.Create(ctx, e.DB.Bun, apikeys.CreateParams{Name: "recipes", Type: apikeys.TypeExternal}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if l.set, err = e.Nodes[0].Settings.Get(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.NewService(nil).CreateProduct(ctx, e.DB.Bun, audit.Source{Actor: audit.System}, l.set,
		catalog.ProductInput{Name: fields.Some("Acme CMS"), ReferenceID: fields.Some("ACME")}); err != nil {
		t.Fatal(err)
	}
	keys, _ := json.Marshal(l.ring.PublicKeys())
	l.keysFile = filepath.Join(t.TempDir(), "public-keys.json")
	if err := os.WriteFile(l.keysFile, keys, 0o600); err != nil {
		t.Fatal(err)
	}
	return l
}

// proxy is a man in the middle between a recipe and Licensor: change
// alters each request on its way in, answer each answer on its way out.
func (l *live) proxy(t *testing.T, change func(*http.Request), answer func([]byte) []byte) string {
	t.Helper()
	target, _ := url.Parse(l.url)
	p := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // the host the client called, which the answer is signed for
		if change != nil {
			change(r.Out)
		}
	}}
	p.ModifyResponse = func(resp *http.Response) error {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if answer != nil {
			b = answer(b)
		}
		resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	return s.URL
}

func TestRecipes(t *testing.T) {
	t.Parallel()
	l := startLive(t)
	verifyPath := "/api/external/license/verify"
	// The most common crack: a forged "valid" answer to a license check.
	forged := l.proxy(t, nil, func(b []byte) []byte { return bytes.Replace(b, []byte(`"status":false`), []byte(`"status":true`), 1) })
	// An answer to another request: the nonce the server sees is not the client's.
	replayed := l.proxy(t, func(r *http.Request) { r.Header.Set("X-Licensor-Nonce", "an-earlier-nonce") }, nil)
	honest := l.proxy(t, nil, nil)

	for i, r := range recipes {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			cmd := r.command(t)
			dir := t.TempDir()
			run := func(args ...string) (string, bool) {
				t.Helper()
				c := exec.Command(cmd[0], append(cmd[1:], args...)...)
				var out, errOut bytes.Buffer
				c.Stdout, c.Stderr = &out, &errOut
				err := c.Run()
				if _, exit := err.(*exec.ExitError); err != nil && !exit {
					t.Fatalf("%s %v: %v", r.file, args, err)
				}
				if errOut.Len() > 0 {
					t.Logf("%s %v stderr: %s", r.file, args, errOut.String())
				}
				return strings.TrimSpace(out.String()), err == nil
			}
			code := "RECIPE-" + strings.ToUpper(r.name)
			fp := "machine-" + strconv.Itoa(i)
			ctx := context.Background()
			two := 2
			if _, err := l.lic.CreateLicense(ctx, l.e.DB.Bun, audit.Source{Actor: audit.System}, l.set, licensing.LicenseInput{
				ProductReferenceID: fields.Some("ACME"), LicenseCode: fields.Some(code), ParallelUses: fields.Some(&two), CustomerID: fields.Some(&fp),
			}); err != nil {
				t.Fatal(err)
			}

			// 1. The offline activation request, in both forms.
			out, ok := run("request", "ACME", code, fp, fp)
			lines := strings.Split(out, "\n")
			if !ok || len(lines) != 2 {
				t.Fatalf("request: %q", out)
			}
			var req licensing.OfflineRequest
			for _, doc := range lines {
				got, err := licensing.ParseOfflineRequest(doc)
				if err != nil || got.ProductRef != "ACME" || got.LicenseCode != code || got.Fingerprint != fp || got.ClientName != fp ||
					time.Since(got.RequestedAt).Abs() > time.Minute {
					t.Fatalf("request %q: %+v, %v", doc, got, err)
				}
				req = got
			}
			res, err := l.lic.ActivateOffline(ctx, l.e.DB.Bun, l.set, licensing.OfflineActivateRequest{Request: req, By: audit.Source{Actor: audit.System}})
			if err != nil || res.Failure != nil {
				t.Fatalf("activate the recipe's request: %v %+v", err, res)
			}
			_, file, err := licensing.OfflineLicenseFile(l.ring, res, nil, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			write := func(name string, b []byte) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			licFile, state := write("offline.lic", file), filepath.Join(dir, "state.json")

			// 2. The license file: its machine only, untouched, and the clock.
			if out, ok := run("license", licFile, l.keysFile, fp, state); !ok || out != "OK "+code {
				t.Fatalf("own machine: %q", out)
			}
			var st struct {
				LastSeen int64 `json:"last_seen"`
			}
			if b, err := os.ReadFile(state); err != nil || json.Unmarshal(b, &st) != nil || time.Since(time.Unix(st.LastSeen, 0)).Abs() > time.Minute {
				t.Fatalf("state after a check: %s, %v", b, err)
			}
			if out, ok := run("license", licFile, l.keysFile, "another-machine", state); ok || !strings.Contains(out, "another machine") {
				t.Fatalf("another machine: %q", out)
			}
			lines = strings.Split(string(file), "\n")
			b := []byte(lines[2])
			b[5] ^= 'A' ^ 'C'
			lines[2] = string(b)
			if out, ok := run("license", write("tampered.lic", []byte(strings.Join(lines, "\n"))), l.keysFile, fp, state); ok || !strings.HasPrefix(out, "REFUSED") {
				t.Fatalf("tampered file: %q", out)
			}
			now := time.Now()
			sign := func(name string, issued, until time.Time) string {
				f, err := l.ring.SignLicenseFile(signing.LicenseFile{LicenseCode: code, ProductRef: "ACME", ProductName: "Acme CMS", IssuedAt: issued,
					Offline: &signing.OfflineBinding{ActivationID: res.Activation.ID, Fingerprint: fp, ValidUntil: until, ReleaseKey: []byte{1}}})
				if err != nil {
					t.Fatal(err)
				}
				return write(name, f)
			}
			if out, ok := run("license", sign("future.lic", now.Add(time.Hour), now.Add(48*time.Hour)), l.keysFile, fp, state); ok || !strings.Contains(out, "issued in the future") {
				t.Fatalf("a file from the future: %q", out)
			}
			// The machine saw a later time than its clock now says (it was
			// turned back): a file valid until in between has run out.
			later := filepath.Join(dir, "later.json")
			_ = os.WriteFile(later, []byte(`{"last_seen":`+strconv.FormatInt(now.Add(72*time.Hour).Unix(), 10)+`}`), 0o600)
			if out, ok := run("license", sign("until.lic", now.Add(-time.Hour), now.Add(24*time.Hour)), l.keysFile, fp, later); ok || !strings.Contains(out, "valid_until passed") {
				t.Fatalf("a clock turned back: %q", out)
			}

			// 3. Signed answers: honest (directly and through a proxy that
			// changes nothing), forged, and answering another nonce.
			body := `{"product_id":"ACME","license_code":"NO-SUCH-CODE"}`
			for _, base := range []string{l.url, honest} {
				out, ok := run("response", base+verifyPath, l.key, l.keysFile, body)
				if !ok || !strings.HasPrefix(out, `OK {"status":false`) || !strings.Contains(out, `"nonce":"`) {
					t.Fatalf("honest answer via %s: %q", base, out)
				}
			}
			if out, ok := run("response", forged+verifyPath, l.key, l.keysFile, body); ok || !strings.Contains(out, "bad signature") {
				t.Fatalf("forged answer: %q", out)
			}
			if out, ok := run("response", replayed+verifyPath, l.key, l.keysFile, body); ok || !strings.Contains(out, "nonce") {
				t.Fatalf("answer to another nonce: %q", out)
			}

			// 4. The release proof frees the slot.
			out, ok = run("release", licFile)
			proof, err := licensing.ParseReleaseProof(out)
			if !ok || err != nil {
				t.Fatalf("release: %q, %v", out, err)
			}
			if _, err := l.lic.ReleaseOffline(ctx, l.e.DB.Bun, licensing.OfflineReleaseRequest{Proof: proof, By: audit.Source{Actor: audit.System}}); err != nil {
				t.Fatalf("the recipe's release proof: %v", err)
			}
		})
	}
}
