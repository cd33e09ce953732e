package portal_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/web/webtest"
)

// postDocument posts a document of the offline page, pasted as field or,
// with file set, uploaded as fileField.
func postDocument(t *testing.T, c *webtest.Client, path, field, doc string, file bool) *webtest.Response {
	t.Helper()
	c.GetCSRF("/customer/offline-activation")
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if file {
		part, err := w.CreateFormFile(field+"_file", "doc.json")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = part.Write([]byte(doc))
	} else {
		_ = w.WriteField(field, doc)
	}
	_ = w.Close()
	// The token in the query, as the form's action carries it: a
	// multipart body is not read for it.
	req, err := http.NewRequest(http.MethodPost, path+"?_csrf="+url.QueryEscape(c.CSRF), &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.Do(req)
}

// A customer pastes a machine's activation request (code or file) and
// downloads a license file bound to it, for their own licenses only and
// within the license's slots; the activation shows as offline, has no
// deactivate button, and the machine's release proof frees its slot.
func TestOfflineActivation(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ring := s.e.Nodes[0].Signing
	c := s.e.SignInCustomer(t, s.cora.ID)
	const page, releasePath = "/customer/offline-activation", "/customer/offline-activation/release"
	if r := c.Get("/customer/product-licenses"); !strings.Contains(r.Body, `href="`+page+`"`) {
		t.Fatal("the licenses page does not lead to offline activation")
	}
	if r := c.Get(page); r.StatusCode != 200 || !strings.Contains(r.Body, `name="request"`) || !strings.Contains(r.Body, `name="release"`) {
		t.Fatalf("page: %d\n%s", r.StatusCode, r.Body)
	}
	request := func(code, fp string) licensing.OfflineRequest {
		return licensing.OfflineRequest{ProductRef: "WIDGETPRO", LicenseCode: code, Fingerprint: fp, RequestedAt: time.Now()}
	}

	r := postDocument(t, c, page, "request", request(s.coraLic.LicenseCode, "machine-1").Code(), false)
	if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Disposition"), "WIDGETPRO_CORA-1111-2222-3333-4444_offline_") {
		t.Fatalf("activate: %d %q\n%s", r.StatusCode, r.Header.Get("Content-Disposition"), r.Body)
	}
	lf, err := ring.VerifyLicenseFile([]byte(r.Body))
	if err != nil || lf.Offline == nil || lf.Offline.Fingerprint != "machine-1" || lf.LicenseCode != s.coraLic.LicenseCode ||
		!lf.Offline.ValidUntil.Equal(*s.coraLic.ExpiresAt) {
		t.Fatalf("license file %+v, %v", lf, err)
	}
	id := lf.Offline.ActivationID

	r = c.Get("/customer/product-activations")
	if !strings.Contains(r.Body, "offline: machine-1") || strings.Contains(r.Body, fmt.Sprintf("/customer/product-activations/%d/deactivate", id)) {
		t.Fatalf("activations page:\n%s", r.Body)
	}
	if r := c.PostForm(fmt.Sprintf("/customer/product-activations/%d/deactivate", id), nil); r.StatusCode != 403 {
		t.Fatalf("deactivating an offline activation by button: %d", r.StatusCode)
	}

	for name, tc := range map[string]struct{ doc, want string }{
		"another customer's license": {request(s.ottoLic.LicenseCode, "machine-2").Code(), "Your license code is invalid."},
		"no slot left":               {string(request(s.coraLic.LicenseCode, "machine-2").JSON()), "maximum number of parallel uses"},
		"a mistyped code":            {mistype(request(s.coraLic.LicenseCode, "m").Code()), "mistyped"},
		"not a request":              {`{"type":"something"}`, "not an offline activation request"},
	} {
		r := postDocument(t, c, page, "request", tc.doc, name == "no slot left")
		if r.StatusCode != 422 || !strings.Contains(r.Body, tc.want) {
			t.Errorf("%s: %d\n%s", name, r.StatusCode, r.Body)
		}
	}

	proof := licensing.SignRelease(lf.Offline.ReleaseKey, id, lf.LicenseCode, "machine-1", time.Now())
	forged := licensing.SignRelease([]byte("guessed"), id, lf.LicenseCode, "machine-1", time.Now())
	if r := postDocument(t, c, releasePath, "release", forged.Code(), false); r.StatusCode != 422 || !strings.Contains(r.Body, "does not match") {
		t.Fatalf("forged proof: %d\n%s", r.StatusCode, r.Body)
	}
	other := s.e.SignInCustomer(t, s.otto.ID)
	if r := postDocument(t, other, releasePath, "release", proof.Code(), false); r.StatusCode != 422 {
		t.Fatalf("another customer's release: %d", r.StatusCode)
	}
	r = postDocument(t, c, releasePath, "release", string(proof.JSON()), true)
	if r.StatusCode != 303 || r.Header.Get("Location") != page {
		t.Fatalf("release: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.Get(page); !strings.Contains(r.Body, "was released; its slot is free") {
		t.Fatalf("no flash:\n%s", r.Body)
	}
	a, err := licensing.GetActivation(context.Background(), s.e.DB.Bun, id)
	if err != nil || a.IsActive {
		t.Fatalf("released activation %+v, %v", a, err)
	}
	if r := postDocument(t, c, releasePath, "release", proof.Code(), false); r.StatusCode != 422 || !strings.Contains(r.Body, "already released") {
		t.Fatalf("released twice: %d\n%s", r.StatusCode, r.Body)
	}
	if r := postDocument(t, c, page, "request", string(request(s.coraLic.LicenseCode, "machine-2").JSON()), true); r.StatusCode != 200 {
		t.Fatalf("the freed slot: %d\n%s", r.StatusCode, r.Body)
	}
}

// mistype changes the code's second character, which encodes the fixed
// start of every request.
func mistype(code string) string {
	b := []byte(code)
	if b[1] == 'Q' {
		b[1] = 'R'
	} else {
		b[1] = 'Q'
	}
	return string(b)
}
