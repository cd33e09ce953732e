package customers

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/settings"
)

func TestTokensAreSingleUseExpiringAndHashed(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	c, err := newService().Create(ctx, d.Bun, api, settings.Defaults(), CreateParams{Name: "Ann Lee", Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC)

	reset1, err := CreateToken(ctx, d.Bun, c, TokenPasswordReset, c.Email, now)
	if err != nil {
		t.Fatal(err)
	}
	reset2, err := CreateToken(ctx, d.Bun, c, TokenPasswordReset, c.Email, now)
	if err != nil {
		t.Fatal(err)
	}
	welcome, err := CreateToken(ctx, d.Bun, c, TokenPasswordSet, c.Email, now)
	if err != nil {
		t.Fatal(err)
	}
	verify, err := CreateToken(ctx, d.Bun, c, TokenEmailVerification, "new@example.com", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(reset1) != 43 || reset1 == reset2 {
		t.Fatalf("tokens %q %q", reset1, reset2)
	}

	// Only the hash is stored.
	var stored [][]byte
	if err := d.Bun.NewRaw("SELECT token_hash FROM customer_tokens").Scan(ctx, &stored); err != nil {
		t.Fatal(err)
	}
	for _, h := range stored {
		if bytes.Contains(h, []byte(reset1)) || len(h) != 32 {
			t.Fatalf("stored token is not a SHA-256: %x", h)
		}
	}

	// A token of another purpose does not open this page.
	if _, err := ConsumeToken(ctx, d.Bun, verify, now, TokenPasswordReset, TokenPasswordSet); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("verification token used as a reset token: %v", err)
	}
	// A reset link is valid 60 minutes.
	if _, err := ConsumeToken(ctx, d.Bun, reset1, now.Add(61*time.Minute), TokenPasswordReset); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("expired reset token accepted: %v", err)
	}
	tok, err := ConsumeToken(ctx, d.Bun, reset2, now.Add(59*time.Minute), TokenPasswordReset, TokenPasswordSet)
	if err != nil || tok.CustomerID != c.ID || tok.Purpose != TokenPasswordReset {
		t.Fatalf("consume: %+v %v", tok, err)
	}
	// Single use, and using one cancels the other password links but not
	// the confirmation link.
	for name, tk := range map[string]string{"same": reset2, "sibling reset": reset1, "welcome": welcome} {
		if _, err := ConsumeToken(ctx, d.Bun, tk, now.Add(time.Hour-time.Second), TokenPasswordReset, TokenPasswordSet); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s token still usable: %v", name, err)
		}
	}
	tok, err = ConsumeToken(ctx, d.Bun, verify, now.Add(23*time.Hour), TokenEmailVerification)
	if err != nil || tok.Email != "new@example.com" {
		t.Fatalf("verification: %+v %v", tok, err)
	}

	// Pruning removes used and expired tokens.
	n, err := PruneTokens(ctx, d.Bun, now.Add(8*24*time.Hour))
	if err != nil || n != 4 {
		t.Fatalf("pruned %d, %v", n, err)
	}
}
