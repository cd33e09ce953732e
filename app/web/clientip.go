package web

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/gofiber/fiber/v3"
)

type clientIPKey struct{}

// clientAddr is a client address and its text. The request keeps a
// pointer to one (a pointer is stored without allocating; a string would
// be boxed on every request).
type clientAddr struct {
	addr netip.Addr
	text string
}

// addrTexts remembers the text of recently seen client addresses, so the
// usual request (a client that called before) formats none: a slot per
// hash of the address, replaced on a collision, so its size stays fixed
// whatever addresses call.
var addrTexts [1024]atomic.Pointer[clientAddr]

// addrText returns a's entry, formatting its text only when a is not the
// one its slot remembers.
func addrText(a netip.Addr) *clientAddr {
	b := a.As16()
	var h uint32 = 2166136261
	for _, x := range b {
		h = (h ^ uint32(x)) * 16777619
	}
	slot := &addrTexts[h%uint32(len(addrTexts))]
	if e := slot.Load(); e != nil && e.addr == a {
		return e
	}
	e := &clientAddr{addr: a, text: a.String()}
	slot.Store(e)
	return e
}

// peerAddr is the connection's peer address as c.IP() gives it (an
// IPv4-mapped address as IPv4), without formatting it anew.
func peerAddr(c fiber.Ctx) *clientAddr {
	ip := c.RequestCtx().RemoteIP()
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return &clientAddr{text: c.IP()}
	}
	return addrText(a.Unmap())
}

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
		ip := peerAddr(c)
		if len(prefixes) > 0 && c.IsProxyTrusted() {
			if fwd := forwardedClient(c.Get(fiber.HeaderXForwardedFor), isTrusted); fwd != nil {
				ip = fwd
			}
		}
		// Set on the fasthttp context directly: c.Locals's variadic value
		// escapes and costs an allocation per request.
		c.RequestCtx().SetUserValue(clientIPKey{}, ip)
		return c.Next()
	}, nil
}

// ClientIP returns the client address resolved by ClientIPs, or the peer
// address when that middleware did not run.
func ClientIP(c fiber.Ctx) string {
	if ip, ok := c.Locals(clientIPKey{}).(*clientAddr); ok {
		return ip.text
	}
	return c.IP()
}

// forwardedClient returns the right-most address of an X-Forwarded-For
// value that is not a trusted proxy (nil when there is none or an entry is
// malformed, in which case the peer address stands).
func forwardedClient(xff string, isTrusted func(netip.Addr) bool) *clientAddr {
	for rest := xff; ; {
		i := strings.LastIndexByte(rest, ',')
		s := strings.TrimSpace(rest[i+1:])
		if s != "" {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil
			}
			if !isTrusted(a) {
				return addrText(a.Unmap())
			}
		}
		if i < 0 {
			return nil
		}
		rest = rest[:i]
	}
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
