package captcha_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/settings"
)

func TestStoreSingleUseAndExpiry(t *testing.T) {
	d := dbtest.New(t)
	ctx := context.Background()
	now := time.Now()
	s := captcha.NewStore(d.Bun, captcha.ProviderImage, func() time.Time { return now })
	id, err := s.Create(ctx, []byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	// dchest/captcha's interface: Get without clear peeks, with clear takes.
	if got := s.Get(id, false); string(got) != "\x01\x02\x03" {
		t.Fatalf("peek: %v", got)
	}
	if got := s.Get(id, true); string(got) != "\x01\x02\x03" {
		t.Fatalf("take: %v", got)
	}
	if got := s.Get(id, true); got != nil {
		t.Fatalf("second take: %v", got)
	}
	// Another kind's store does not see it; an expired one is gone.
	s.Set("abc", []byte{4})
	if got := s.WithKind(captcha.ProviderMath).Get("abc", true); got != nil {
		t.Fatalf("math store read an image answer: %v", got)
	}
	now = now.Add(captcha.TTL + time.Second)
	if got := s.Get("abc", true); got != nil {
		t.Fatalf("expired answer: %v", got)
	}
}

func TestRegistry(t *testing.T) {
	d := dbtest.New(t)
	ctx := context.Background()
	r := captcha.NewRegistry(d.Bun, nil)
	set := &settings.Values{CaptchaProvider: "math", CaptchaForms: []string{"login"}}
	p, err := r.For(set, captcha.FormLogin)
	if err != nil || p == nil {
		t.Fatalf("math for login: %v %v", p, err)
	}
	w, err := p.Widget(ctx, captcha.FormLogin)
	if err != nil || !strings.Contains(string(w), "What is") {
		t.Fatalf("widget: %q %v", w, err)
	}
	if p, _ := r.For(set, captcha.FormRegister); p != nil {
		t.Error("register has a CAPTCHA it was not asked for")
	}
	set.CaptchaProvider = "plugin:demo"
	if _, err := r.For(set, captcha.FormLogin); err == nil {
		t.Error("unregistered plugin provider found")
	}
	if err := r.Register("demo", p); err != nil {
		t.Fatal(err)
	}
	if got, err := r.For(set, captcha.FormLogin); err != nil || got != p {
		t.Errorf("registered plugin provider: %v %v", got, err)
	}
}
