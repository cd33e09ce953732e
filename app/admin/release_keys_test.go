package admin_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/releasekeys"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/signing"
)

func TestReleaseKeysInUpdateSettings(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kid := signing.KeyID(pub)

	r := c.Get("/admin/settings/updates")
	if r.StatusCode != 200 || !strings.Contains(r.Body, "Trusted release keys") || !strings.Contains(r.Body, "No release keys yet.") ||
		!strings.Contains(r.Body, `name="update_integrity_enabled"`) {
		t.Fatalf("updates tab: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.Get("/admin/settings/general"); strings.Contains(r.Body, "Trusted release keys") {
		t.Error("release keys shown on the general tab")
	}

	// Bad input: 422, messages next to the fields, typed text kept.
	r = c.PostForm("/admin/settings/updates/release-keys", url.Values{"name": {"Build server"}, "public_key": {"not-a-key"}})
	if r.StatusCode != 422 || !strings.Contains(html.UnescapeString(r.Body), "The public key must be an Ed25519 public key") ||
		!strings.Contains(r.Body, `value="Build server"`) || !strings.Contains(r.Body, ">not-a-key</textarea>") {
		t.Fatalf("bad key: %d\n%s", r.StatusCode, r.Body)
	}
	r = c.PostForm("/admin/settings/updates/release-keys", url.Values{"name": {""}, "public_key": {""}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, "The public key field is required.") || !strings.Contains(r.Body, `id="release-key-name-error"`) {
		t.Fatalf("empty: %d\n%s", r.StatusCode, r.Body)
	}

	r = c.PostForm("/admin/settings/updates/release-keys", url.Values{"name": {"Build server"}, "public_key": {base64.StdEncoding.EncodeToString(pub)}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/settings/updates" {
		t.Fatalf("add: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	r = c.Get("/admin/settings/updates")
	if !strings.Contains(r.Body, "Release key Build server ("+kid+") is now trusted.") || !strings.Contains(r.Body, "<code>"+kid+"</code>") ||
		!strings.Contains(r.Body, ">trusted</span>") {
		t.Fatalf("after add:\n%s", r.Body)
	}
	// Adding it again is refused next to the field.
	r = c.PostForm("/admin/settings/updates/release-keys", url.Values{"name": {"Again"}, "public_key": {base64.StdEncoding.EncodeToString(pub)}})
	if r.StatusCode != 422 || !strings.Contains(r.Body, "This key has already been added") {
		t.Fatalf("duplicate: %d\n%s", r.StatusCode, r.Body)
	}

	keys, err := releasekeys.List(context.Background(), e.DB.Bun)
	if err != nil || len(keys) != 1 {
		t.Fatal(keys, err)
	}
	r = c.PostForm(fmt.Sprintf("/admin/settings/updates/release-keys/%d/revoke", keys[0].ID), url.Values{})
	if r.StatusCode != 303 {
		t.Fatalf("revoke: %d\n%s", r.StatusCode, r.Body)
	}
	if _, ok, _ := releasekeys.Trusted(context.Background(), e.DB.Bun, kid); ok {
		t.Fatal("revoked key still trusted")
	}
	r = c.Get("/admin/settings/updates")
	if !strings.Contains(r.Body, "Release key Build server revoked.") || !strings.Contains(r.Body, "revoked ") {
		t.Fatalf("after revoke:\n%s", r.Body)
	}
	if r := c.PostForm("/admin/settings/updates/release-keys/99999/revoke", url.Values{}); r.StatusCode != 404 {
		t.Errorf("revoke missing: %d", r.StatusCode)
	}
	if r := c.Get("/admin/activity"); !strings.Contains(r.Body, "Release key Build server ("+kid+") trusted via console.") {
		t.Errorf("activity log lacks the add")
	}
}

func TestReleaseKeyRoutesNeedAdminAndCSRF(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	posts := []string{"/admin/settings/updates/release-keys", "/admin/settings/updates/release-keys/1/revoke"}
	form := url.Values{"name": {"Sneaky"}, "public_key": {base64.StdEncoding.EncodeToString(pub)}}
	anon := e.Client(t)
	anon.GetCSRF("/admin/login")
	for _, p := range posts {
		if r := anon.PostForm(p, form); r.StatusCode != 302 {
			t.Errorf("anonymous POST %s: %d", p, r.StatusCode)
		}
	}
	c := e.SignIn(t)
	c.CSRF = ""
	for _, p := range posts {
		if r := c.PostForm(p, form); r.StatusCode != 403 {
			t.Errorf("POST %s without token: %d, want 403", p, r.StatusCode)
		}
	}
	if keys, _ := releasekeys.List(context.Background(), e.DB.Bun); len(keys) != 0 {
		t.Errorf("keys added: %v", keys)
	}
}
