package apikeys_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/db/dbtest"
)

func TestCreateAndLookup(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	now := time.Now()

	plain, k, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{Name: "Shop", Type: apikeys.TypeInternal}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) != 40 {
		t.Fatalf("generated key has %d characters, want 40", len(plain))
	}
	if len(k.Scopes) != len(apikeys.InternalScopes) {
		t.Fatalf("no scope chosen should give every internal scope, got %v", k.Scopes)
	}

	var stored string
	if err := d.Bun.NewRaw("SELECT encode(key_hash, 'hex') FROM api_keys WHERE id = ?", k.ID).Scan(ctx, &stored); err != nil {
		t.Fatal(err)
	}
	if stored == plain || len(stored) != 64 {
		t.Fatalf("key must be stored as a SHA-256 hash, got %q", stored)
	}

	got, err := apikeys.Lookup(ctx, d.Bun, plain)
	if err != nil || got == nil || got.ID != k.ID {
		t.Fatalf("Lookup(plain) = %v, %v; want key %d", got, err, k.ID)
	}
	if !got.Usable(apikeys.TypeInternal, now) || got.Usable(apikeys.TypeExternal, now) {
		t.Fatal("an internal key must be usable on the internal API only")
	}
	if missing, err := apikeys.Lookup(ctx, d.Bun, "nope"); err != nil || missing != nil {
		t.Fatalf("Lookup(unknown) = %v, %v; want nil, nil", missing, err)
	}
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	past := now.Add(-time.Hour)
	far := now.AddDate(2, 0, 0)

	cases := []struct {
		name  string
		p     apikeys.CreateParams
		field string
	}{
		{"no name", apikeys.CreateParams{Type: "external"}, "name"},
		{"bad type", apikeys.CreateParams{Name: "x", Type: "other"}, "type"},
		{"scope of other type", apikeys.CreateParams{Name: "x", Type: "external", Scopes: []string{"licenses:create"}}, "scopes"},
		{"expiry in the past", apikeys.CreateParams{Name: "x", Type: "external", ExpiresAt: &past}, "expires_at"},
		{"expiry over a year", apikeys.CreateParams{Name: "x", Type: "external", ExpiresAt: &far}, "expires_at"},
		// Issue 15.16: an 8-character key was shown all but two characters.
		{"typed key under 32", apikeys.CreateParams{Name: "x", Type: "external", Key: "abcdefgh"}, "key"},
		{"typed key of 31", apikeys.CreateParams{Name: "x", Type: "external", Key: strings.Repeat("k", 31)}, "key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := apikeys.Create(ctx, d.Bun, tc.p, now)
			var verr *apikeys.ValidationError
			if !errors.As(err, &verr) || verr.Fields[tc.field] == "" {
				t.Fatalf("want a validation error on %s, got %v", tc.field, err)
			}
		})
	}
}

func TestCreateKeepsTypedKeyAndScopes(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	now := time.Now()
	exp := now.AddDate(0, 6, 0)

	plain, k, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{
		Name: "Legacy", Type: "external", Key: "shipped-key-123-0123456789abcdefghij", Scopes: []string{"license:verify", "license:verify"}, ExpiresAt: &exp,
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if plain != "shipped-key-123-0123456789abcdefghij" || len(k.Scopes) != 1 || !k.HasScope("license:verify") || k.HasScope("license:activate") {
		t.Fatalf("typed key or scopes not kept: %q %v", plain, k.Scopes)
	}
	if _, _, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{Name: "Again", Type: "external", Key: "shipped-key-123-0123456789abcdefghij"}, now); !errors.Is(err, apikeys.ErrKeyTaken) {
		t.Fatalf("duplicate key: want ErrKeyTaken, got %v", err)
	}
	if k.Usable("external", exp.Add(time.Second)) {
		t.Fatal("an expired key must not be usable")
	}
}
