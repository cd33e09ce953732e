package admin_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/signing"
)

func TestSigningKeysPageAndRotate(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	ctx := context.Background()
	before, err := signing.List(ctx, e.DB.Bun)
	if err != nil || len(before) != 1 {
		t.Fatalf("keys before: %v %v", before, err)
	}
	old := before[0]
	// html/template writes + in attributes as character references.
	pub := strings.NewReplacer("+", "&#43;").Replace(base64.StdEncoding.EncodeToString(old.Public))

	r := c.Get("/admin/settings/signing-keys")
	for _, want := range []string{`href="/admin/settings/signing-keys" aria-current="page"`, "<code>" + old.KID + "</code>",
		`data-copy="` + pub + `"`, `<span class="badge badge-succeeded">active</span>`, `action="/admin/settings/signing-keys/rotate"`, "data-confirm="} {
		if !strings.Contains(r.Body, want) {
			t.Fatalf("page lacks %q:\n%s", want, r.Body)
		}
	}
	if r := c.Get("/admin/settings/general"); !strings.Contains(r.Body, `href="/admin/settings/signing-keys"`) {
		t.Error("no signing keys tab among the settings")
	}

	r = c.PostForm("/admin/settings/signing-keys/rotate", nil)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/admin/settings/signing-keys" {
		t.Fatalf("rotate: %d %s", r.StatusCode, r.Body)
	}
	after, err := signing.List(ctx, e.DB.Bun)
	if err != nil || len(after) != 2 || after[0].Status != signing.StatusActive || after[1].KID != old.KID || after[1].Status != signing.StatusRetired {
		t.Fatalf("keys after rotation: %+v %v", after, err)
	}
	// This node signs with the new key at once.
	if k, ok := e.Nodes[0].Signing.Active(); !ok || k.KID != after[0].KID {
		t.Errorf("node's active key %s, want %s", k.KID, after[0].KID)
	}
	r = c.Get("/admin/settings/signing-keys")
	if !strings.Contains(r.Body, "New active signing key "+after[0].KID) || !strings.Contains(r.Body, `<span class="badge">retired</span>`) {
		t.Errorf("page after rotation:\n%s", r.Body)
	}
	if n := countRows(t, e, "activity_log WHERE type = 'signing_key.rotated'"); n != 1 {
		t.Errorf("activity log: %d", n)
	}
}
