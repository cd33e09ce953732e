package twofactor_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/twofactor"
)

func TestEnrolVerifyReplayRecovery(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	a, err := admins.Create(ctx, d.Bun, "Ann", "ann@example.com", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	b, err := admins.Create(ctx, d.Bun, "Bob", "bob@example.com", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_900_000_005, 0) // 5 s into a 30 s step
	s := twofactor.New([]byte("instance secret"), func() time.Time { return now })
	acct := twofactor.AdminAccount(a.ID)

	en, err := s.Begin(ctx, d.Bun, acct, "Licensor", a.Email)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(en.URI, "otpauth://totp/Licensor:ann@example.com?") || !strings.Contains(en.URI, "secret="+en.Secret) {
		t.Errorf("URI %q", en.URI)
	}
	if on, _ := s.Enabled(ctx, d.Bun, acct); on {
		t.Error("enabled before the first code")
	}
	// The secret is stored sealed, bound to its account.
	var stored []byte
	if err := d.Bun.NewRaw("SELECT secret FROM two_factor WHERE admin_id = ?", a.ID).Scan(ctx, &stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), en.Secret) {
		t.Error("the secret is stored in clear")
	}
	if _, err := d.Bun.ExecContext(ctx, "INSERT INTO two_factor (admin_id, secret, confirmed_at) VALUES (?, ?, now())", b.ID, stored); err != nil {
		t.Fatal(err)
	}
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(en.Secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := s.Verify(ctx, d.Bun, twofactor.AdminAccount(b.ID), code(now)); err == nil {
		t.Error("a sealed secret copied onto another account opens")
	}

	if _, err := s.Confirm(ctx, d.Bun, acct, "123456"); !errors.Is(err, twofactor.ErrInvalidCode) {
		t.Errorf("confirm with a wrong code: %v", err)
	}
	codes, err := s.Confirm(ctx, d.Bun, acct, code(now))
	if err != nil || len(codes) != 10 {
		t.Fatalf("Confirm = %d codes, %v", len(codes), err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{5}-[0-9a-f]{5}$`).MatchString(codes[0]) {
		t.Errorf("recovery code %q", codes[0])
	}
	if err := s.Verify(ctx, d.Bun, acct, code(now)); !errors.Is(err, twofactor.ErrInvalidCode) {
		t.Errorf("the confirming code again: %v, want refused", err)
	}
	now = now.Add(30 * time.Second)
	if err := s.Verify(ctx, d.Bun, acct, code(now.Add(30*time.Second))); err != nil {
		t.Errorf("next step (+1 drift): %v", err)
	}
	if err := s.Verify(ctx, d.Bun, acct, code(now)); !errors.Is(err, twofactor.ErrInvalidCode) {
		t.Errorf("a step before the last accepted: %v, want refused", err)
	}
	if err := s.Verify(ctx, d.Bun, acct, " "+strings.ToUpper(codes[0])+" "); err != nil {
		t.Errorf("recovery code: %v", err)
	}
	if err := s.Verify(ctx, d.Bun, acct, codes[0]); !errors.Is(err, twofactor.ErrInvalidCode) {
		t.Errorf("recovery code twice: %v", err)
	}
	if left, _ := s.RecoveryCodesLeft(ctx, d.Bun, acct); left != 9 {
		t.Errorf("%d recovery codes left, want 9", left)
	}
	fresh, err := s.NewRecoveryCodes(ctx, d.Bun, acct)
	if err != nil || len(fresh) != 10 {
		t.Fatal(err)
	}
	if err := s.Verify(ctx, d.Bun, acct, codes[1]); !errors.Is(err, twofactor.ErrInvalidCode) {
		t.Errorf("an old recovery code after new ones: %v", err)
	}
	if _, err := s.Begin(ctx, d.Bun, acct, "Licensor", a.Email); !errors.Is(err, twofactor.ErrAlreadyEnabled) {
		t.Errorf("Begin while on: %v", err)
	}
	if had, err := s.Disable(ctx, d.Bun, acct); err != nil || !had {
		t.Fatalf("Disable = %v, %v", had, err)
	}
	if err := s.Verify(ctx, d.Bun, acct, fresh[0]); !errors.Is(err, twofactor.ErrNotEnrolled) {
		t.Errorf("after Disable: %v", err)
	}
}

func TestQRCodeSVG(t *testing.T) {
	t.Parallel()
	svg, err := twofactor.QRCodeSVG("otpauth://totp/Licensor:ann@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Licensor", `Scan <me> & "go"`)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindStringSubmatch(svg)
	if m == nil || m[1] != m[2] {
		t.Fatalf("no square viewBox: %.200s", svg)
	}
	// A QR code is 21 + 4k modules wide, plus the 4-module quiet zone on
	// each side; the three finder patterns start with 7-module runs.
	if n := atoi(m[1]) - 8; n < 21 || (n-21)%4 != 0 {
		t.Errorf("%d modules wide", n)
	}
	if strings.Count(svg, "h7v1h-7z") < 4 {
		t.Errorf("finder patterns missing: %.300s", svg)
	}
	if !strings.Contains(svg, `aria-label="Scan &lt;me&gt; &amp; &quot;go&quot;"`) {
		t.Error("title not escaped")
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
