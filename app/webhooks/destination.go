package webhooks

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Webhook destinations (issue 15.14, docs/deploy.md#webhook-destinations):
// a receiver is checked where the connection is made, after DNS, so a name
// resolving to 127.0.0.1 or 169.254.169.254 (or changing its answer after
// the URL was saved) reaches nothing inside the network. Setting
// webhook_allowed_networks opens chosen ranges for an internal receiver.

// ErrPrivateDestination refuses a delivery to a private, loopback,
// link-local or otherwise internal address.
var ErrPrivateDestination = errors.New("the webhook URL leads to a private, loopback or link-local address; " +
	"add its range to the webhook_allowed_networks setting to deliver there")

// errUnreachable is every other failure to reach the receiver: one text
// for refused, reset, timed out and unknown hosts alike, so that the
// console does not tell which ports of a host are open.
var errUnreachable = errors.New("the receiver could not be reached or did not answer in time")

type allowedKey struct{}

// withAllowed carries the allowed ranges to the dialer of this delivery.
func withAllowed(ctx context.Context, entries []string) context.Context {
	var out []netip.Prefix
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(e); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return context.WithValue(ctx, allowedKey{}, out)
}

// sharedAddressSpace is 100.64.0.0/10 (RFC 6598, carrier-grade NAT), and
// benchmarking 198.18.0.0/15: internal too.
var internalRanges = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// Refused reports whether a delivery may not connect to ip with allowed
// ranges opened.
func refused(ip netip.Addr, allowed []netip.Prefix) bool {
	ip = ip.Unmap()
	internal := ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified()
	for _, p := range internalRanges {
		internal = internal || p.Contains(ip)
	}
	if !internal {
		return false
	}
	for _, p := range allowed {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// guardedClient is the deliveries' client: no redirects (a 3xx is not a
// 2xx), no proxy from the environment (the proxy would be what is
// dialled), and every connection's address checked as it is made.
func guardedClient() *http.Client {
	return &http.Client{
		Timeout: Timeout,
		Transport: Guard(&http.Transport{
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: Timeout,
			MaxIdleConns:        10,
			IdleConnTimeout:     90 * time.Second,
		}),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Guard makes t dial only addresses a delivery may reach: not internal
// ones outside the delivery's allowed ranges. It replaces t's DialContext
// and proxy and returns t (tests guard a transport trusting their
// receiver's certificate).
func Guard(t *http.Transport) *http.Transport {
	dialer := &net.Dialer{
		Timeout: Timeout,
		ControlContext: func(ctx context.Context, _, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return ErrPrivateDestination
			}
			allowed, _ := ctx.Value(allowedKey{}).([]netip.Prefix)
			if refused(ap.Addr(), allowed) {
				return ErrPrivateDestination
			}
			return nil
		},
	}
	t.Proxy = nil
	t.DialContext = dialer.DialContext
	return t
}

// attemptFailure is what an attempt records of a failed request.
func attemptFailure(err error) string {
	if errors.Is(err, ErrPrivateDestination) {
		return ErrPrivateDestination.Error()
	}
	return errUnreachable.Error()
}
