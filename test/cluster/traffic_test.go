package cluster

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/app/web/webtest"
)

// traffic is a load of licence activations and verifies on one licence
// of unlimited uses, sent to whichever node target names, until stopped.
// Every activation answered as made must end up stored, and none more
// than the requests that got no answer (those cut by a killed node may or
// may not have committed).
type traffic struct {
	stop      atomic.Bool
	wg        sync.WaitGroup
	seen      tally
	activated atomic.Int64 // activations answered as made
	unknown   atomic.Int64 // activations that got no answer
	code      string
}

// startTraffic creates product ref and its licence ref-1, activates it
// once, and starts workers goroutines alternating verifies and
// activations from fresh hosts, each pausing pace between requests.
func (c *cluster) startTraffic(t *testing.T, ref string, workers int, pace time.Duration, target func() string) *traffic {
	t.Helper()
	tr := &traffic{code: ref + "-1"}
	c.api(t, c.internalKey, "/api/internal/products", map[string]any{"name": ref, "reference_id": ref}, nil)
	c.api(t, c.internalKey, "/api/internal/product-licenses", map[string]any{"product_reference_id": ref, "license_code": tr.code, "parallel_uses": nil}, nil)
	var act struct {
		Status bool `json:"status"`
		Data   struct {
			LicenseData string `json:"license_data"`
		} `json:"data"`
	}
	c.api(t, c.externalKey, "/api/external/license/activate", map[string]any{"product_id": ref, "license_code": tr.code}, &act, "X-API-URL", "https://first.example.com")
	if !act.Status {
		t.Fatal("first activation failed")
	}
	verify := fmt.Sprintf(`{"product_id":%q,"license_data":%q}`, ref, act.Data.LicenseData)
	activate := fmt.Sprintf(`{"product_id":%q,"license_code":%q}`, ref, tr.code)
	hc := &http.Client{Timeout: 10 * time.Second}
	var seq atomic.Int64
	for w := range workers {
		tr.wg.Go(func() {
			for !tr.stop.Load() {
				start := time.Now()
				var status int
				var body string
				var err error
				if w%2 == 0 {
					status, _, err = post(hc, target(), "/api/external/license/verify", c.externalKey, verify, "X-API-URL", "https://first.example.com")
				} else {
					host := fmt.Sprintf("https://%s-%d.example.com", strings.ToLower(ref), seq.Add(1))
					status, body, err = post(hc, target(), "/api/external/license/activate", c.externalKey, activate, "X-API-URL", host)
					switch {
					case err != nil:
						tr.unknown.Add(1)
					case status == http.StatusOK && strings.Contains(body, `"status":true`):
						tr.activated.Add(1)
					}
				}
				tr.seen.add(status, time.Since(start), err)
				if err != nil {
					time.Sleep(20 * time.Millisecond) // a node is gone: don't spin
				}
				time.Sleep(pace) // the load's pace
			}
		})
	}
	return tr
}

// finish stops the load and checks it: no 5xx, some successes, and the
// activations stored are those answered as made (plus at most the ones
// that got no answer).
func (tr *traffic) finish(t *testing.T, c *cluster) (map[int]int, int) {
	t.Helper()
	tr.stop.Store(true)
	tr.wg.Wait()
	status, transport, slowest := tr.seen.snapshot()
	t.Logf("traffic: %v, %d without an answer, slowest %s", status, transport, slowest.Round(time.Millisecond))
	for code, n := range status {
		if code >= 500 {
			t.Errorf("%d answers with status %d during the fault", n, code)
		}
	}
	if status[http.StatusOK] == 0 {
		t.Error("no request of the load succeeded")
	}
	var stored int64
	if err := c.db.QueryRow(`SELECT count(*) FROM activations WHERE license_code = $1 AND is_valid`, tr.code).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	made, unknown := tr.activated.Load()+1, tr.unknown.Load()
	if stored < made || stored > made+unknown {
		t.Errorf("activations answered as made: %d (and %d without an answer); stored: %d", made, unknown, stored)
	}
	return status, transport
}

// postFile posts a multipart form with one file as a signed-in browser's
// script would (the CSRF token in X-CSRF-Token, read from csrfPage).
func (b *browser) postFile(t *testing.T, csrfPage, path string, fields map[string]string, field, filename string, content []byte) (*http.Response, string) {
	t.Helper()
	_, page := b.get(t, csrfPage)
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	fw, _ := w.CreateFormFile(field, filename)
	_, _ = fw.Write(content)
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, b.base+path, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	token := webtest.CSRFFromHTML(page)
	if token == "" {
		t.Fatalf("no CSRF token on %s", csrfPage)
	}
	req.Header.Set("X-CSRF-Token", token)
	res, err := b.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res, string(raw)
}

func readAll(res *http.Response) string {
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return string(raw)
}
