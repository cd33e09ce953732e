package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/gofiber/fiber/v3"
)

func TestClientIP(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		xff     string
		want    string
	}{
		{"no proxies configured: header ignored", nil, "203.0.113.7", "0.0.0.0"},
		{"peer not trusted: header ignored", []string{"10.0.0.0/8"}, "203.0.113.7", "0.0.0.0"},
		{"trusted peer: forwarded client", []string{"0.0.0.0"}, "203.0.113.7", "203.0.113.7"},
		{"right-most untrusted wins over a spoofed left end", []string{"0.0.0.0"}, "198.51.100.1, 203.0.113.7", "203.0.113.7"},
		{"trusted hops skipped", []string{"0.0.0.0", "10.0.0.0/8"}, "203.0.113.7, 10.1.2.3, 10.0.0.9", "203.0.113.7"},
		{"IPv6 client", []string{"0.0.0.0/32"}, "2001:db8::1", "2001:db8::1"},
		{"garbage falls back to the peer", []string{"0.0.0.0"}, "not-an-ip", "0.0.0.0"},
		{"all hops trusted: the peer", []string{"0.0.0.0", "10.0.0.0/8"}, "10.0.0.1", "0.0.0.0"},
		{"empty header", []string{"0.0.0.0"}, "", "0.0.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw, err := ClientIPs(tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			app := fiber.New(fiber.Config{TrustProxy: len(tt.trusted) > 0, TrustProxyConfig: TrustProxyConfig(tt.trusted)})
			app.Use(mw)
			app.Get("/", func(c fiber.Ctx) error { return c.SendString(ClientIP(c)) })
			req := httptest.NewRequest("GET", "/", nil)
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			resp, err := app.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, resp.Body)
			if body != tt.want {
				t.Errorf("client IP %q, want %q", body, tt.want)
			}
		})
	}
	if _, err := ClientIPs([]string{"10.0.0.0/33"}); err == nil {
		t.Error("bad CIDR accepted")
	}
}

// TestAddrTextsKeepEachAddress: the remembered texts of client addresses
// are each address's own, whatever slots the addresses share (more
// addresses than slots, so many collide) and however often they are
// asked for.
func TestAddrTextsKeepEachAddress(t *testing.T) {
	t.Parallel()
	var addrs []netip.Addr
	for i := range 3 * len(addrTexts) {
		addrs = append(addrs,
			netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
			netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}))
	}
	for round := range 2 {
		for _, a := range addrs {
			if got := addrText(a); got.text != a.String() || got.addr != a {
				t.Fatalf("round %d: %v remembered as %q (%v)", round, a, got.text, got.addr)
			}
		}
	}
}
