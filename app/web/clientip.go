package web

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v3"
)

type clientIPKey struct{}

// TrustProxyConfig turns the configured trusted proxies (IPs or CIDR ranges)
// into Fiber's TrustProxy settings, so c.Scheme(), c.Host() and
// c.IsProxyTrusted() honour X-Forwarded-* only from those peers.
func TrustProxyConfig(trusted []string) fiber.TrustProxyConfig {
	return fiber.TrustProxyConfig{Proxies: trusted}
}

// ClientIPs resolves each request's client IP once and stores it for
// ClientIP. When the connecting peer is a trusted proxy (Fiber's
// TrustProxy), X-Forwarded-For is read from the right, skipping trusted
// proxies, and the first other address is the client. Reading from the
// right matters: the left end is whatever the client sent, so taking it
// would let anyone pick their IP and dodge per-IP rate limits.
func ClientIPs(trusted []string) (fiber.Handler, error) {
	prefixes := make([]netip.Prefix, 0, len(trusted))
	for _, t := range trusted {
		p, err := parsePrefix(t)
		if err != nil {
			return nil, err
		}
		prefixes = append(prefixes, p)
	}
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(c fiber.Ctx) error {
		ip := c.IP()
		if len(prefixes) > 0 && c.IsProxyTrusted() {
			if fwd := forwardedClient(c.Get(fiber.HeaderXForwardedFor), isTrusted); fwd != "" {
				ip = fwd
			}
		}
		c.Locals(clientIPKey{}, ip)
		return c.Next()
	}, nil
}

// ClientIP returns the client address resolved by ClientIPs, or the peer
// address when that middleware did not run.
func ClientIP(c fiber.Ctx) string {
	if ip, ok := c.Locals(clientIPKey{}).(string); ok {
		return ip
	}
	return c.IP()
}

// forwardedClient returns the right-most address of an X-Forwarded-For
// value that is not a trusted proxy ("" when there is none or an entry is
// malformed, in which case the peer address stands).
func forwardedClient(xff string, isTrusted func(netip.Addr) bool) string {
	parts := strings.Split(xff, ",")
	for i := len(parts) - 1; i >= 0; i-- {
		s := strings.TrimSpace(parts[i])
		if s == "" {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return ""
		}
		if !isTrusted(a) {
			return a.Unmap().String()
		}
	}
	return ""
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("trusted proxy %q: %w", s, err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
