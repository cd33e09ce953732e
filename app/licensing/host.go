package licensing

import (
	"errors"
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
)

// ErrInvalidHost is returned when no valid host can be read from a URL,
// host or licensed-domain entry.
var ErrInvalidHost = errors.New("licensing: no valid host")

// idnaProfile converts internationalised names to punycode as browsers do
// (UTS #46 lookup mapping: case folding, width mapping, NFC; non-transitional,
// so "ß" stays "ß" and becomes xn--…). It is more lenient than a registry:
// "_" and labels such as "r3---sn-abc" are real hostnames clients send.
// The ASCII that may remain is checked by validHostname.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
	idna.BidiRule(),
	idna.VerifyDNSLength(true),
)

// NormalizeHost returns the normalised host of a URL or bare host
// (docs/api/authentication.md#hosts-and-ips): the value is trimmed and read as
// "http://<value>" when it has no scheme; the host is lowercased, loses a
// trailing dot, its port and any user info, is converted from IDN to punycode,
// and an IPv6 literal loses its brackets (IPs are in canonical form,
// IPv4-mapped IPv6 as IPv4). With dropWWW (setting normalize_domain_variants)
// one leading "www." is dropped. A value without a valid host returns
// ErrInvalidHost.
//
//	NormalizeHost("https://WWW.Example.com:8443/shop?x=1", true) → "example.com"
//	NormalizeHost("bücher.de.", false)                          → "xn--bcher-kva.de"
//	NormalizeHost("http://[2001:DB8::1]:80/", false)            → "2001:db8::1"
func NormalizeHost(raw string, dropWWW bool) (string, error) {
	u, ok := splitURL(raw)
	if !ok {
		return "", ErrInvalidHost
	}
	h := u.host
	if dropWWW && !u.ip {
		if rest, ok := strings.CutPrefix(h, "www."); ok && rest != "" {
			h = rest
		}
	}
	return h, nil
}

// ActivationURL is the form in which an activation's URL is stored
// (docs/api/authentication.md#hosts-and-ips): scheme, host and path, without
// user info, port, query or fragment, with a trailing "/public" and trailing
// slashes removed. The host is normalised as by NormalizeHost, keeping any
// "www.". It returns "" when raw holds no valid host.
//
//	ActivationURL("https://Shop.example.com/app/public/?page=2#top") → "https://shop.example.com/app"
func ActivationURL(raw string) string {
	u, ok := splitURL(raw)
	if !ok {
		return ""
	}
	host := u.host
	if u.ip && strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	p := strings.TrimRight(u.path, "/")
	p = strings.TrimSuffix(p, "/public")
	p = strings.TrimRight(p, "/")
	return u.scheme + "://" + host + p
}

// NormalizeDomainEntry normalises a licensed-domain entry for storage
// (docs/api/authentication.md#hosts-and-ips): an exact host as by NormalizeHost, or a wildcard
// "*.example.com" whose "*." is kept (the rest is normalised without
// dropping "www.", and may not be an IP). An entry without a valid host
// returns ErrInvalidHost.
func NormalizeDomainEntry(raw string, dropWWW bool) (string, error) {
	s := strings.TrimSpace(raw)
	if _, rest, ok := cutScheme(s); ok {
		s = rest
	}
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		u, ok := splitURL(rest)
		if !ok || u.ip {
			return "", ErrInvalidHost
		}
		return "*." + u.host, nil
	}
	return NormalizeHost(raw, dropWWW)
}

// DomainMatches reports whether a normalised caller host is licensed by
// entries (stored with NormalizeDomainEntry): an exact entry matches that
// host only; "*.example.com" matches any host ending in ".example.com", at
// any depth, and not "example.com" itself. An empty host matches nothing.
func DomainMatches(entries []string, host string) bool {
	if host == "" {
		return false
	}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if suffix, ok := strings.CutPrefix(e, "*"); ok && strings.HasPrefix(suffix, ".") {
			if len(host) > len(suffix) && strings.EqualFold(host[len(host)-len(suffix):], suffix) {
				return true
			}
			continue
		}
		if strings.EqualFold(e, host) {
			return true
		}
	}
	return false
}

// parsedURL is what splitURL reads from a URL or bare host.
type parsedURL struct {
	scheme string // lowercased, "http" when none was given
	host   string // normalised, never empty
	ip     bool   // host is an IP address
	path   string // as given, without query and fragment
}

// splitURL reads scheme, host and path from raw the forgiving way PHP's
// parse_url does for the URLs clients send (full page URLs with any query,
// bare hosts, host:port), rather than refusing a URL whose path or query
// is not well formed: only the host has to be valid.
func splitURL(raw string) (parsedURL, bool) {
	s := strings.TrimSpace(raw)
	scheme, rest, ok := cutScheme(s)
	if !ok {
		scheme, rest = "http", strings.TrimPrefix(s, "//")
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		authority = authority[i+1:]
	}
	host, ip, ok := normalizeAuthority(authority)
	if !ok {
		return parsedURL{}, false
	}
	if i := strings.IndexAny(tail, "?#"); i >= 0 {
		tail = tail[:i]
	}
	return parsedURL{scheme: scheme, host: host, ip: ip, path: tail}, true
}

// cutScheme splits "scheme://rest" when s starts with a syntactically valid
// scheme (RFC 3986: a letter, then letters, digits, "+", "-", ".").
func cutScheme(s string) (scheme, rest string, ok bool) {
	i := strings.Index(s, "://")
	if i <= 0 {
		return "", s, false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		other := c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
		if !letter && (j == 0 || !other) {
			return "", s, false
		}
	}
	return strings.ToLower(s[:i]), s[i+3:], true
}

// normalizeAuthority turns "host", "host:port", "[v6]:port" or a bare IPv6
// address into a normalised host.
func normalizeAuthority(a string) (host string, ip bool, ok bool) {
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 || !validPort(a[end+1:]) {
			return "", false, false
		}
		addr, err := netip.ParseAddr(a[1:end])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", false, false
		}
		return addr.Unmap().String(), true, true
	}
	if strings.Count(a, ":") > 1 {
		// A bare IPv6 address, as some clients send in X-API-URL.
		addr, err := netip.ParseAddr(a)
		if err != nil || addr.Zone() != "" {
			return "", false, false
		}
		return addr.Unmap().String(), true, true
	}
	if i := strings.IndexByte(a, ':'); i >= 0 {
		if !validPort(a[i:]) {
			return "", false, false
		}
		a = a[:i]
	}
	a = strings.TrimSuffix(a, ".")
	if a == "" {
		return "", false, false
	}
	if addr, err := netip.ParseAddr(a); err == nil {
		return addr.String(), true, true
	}
	h, err := idnaProfile.ToASCII(strings.ToLower(a))
	if err != nil || !validHostname(h) {
		return "", false, false
	}
	return h, false, true
}

// validPort accepts "", ":" or ":" followed by digits.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	if p[0] != ':' || len(p) > 6 {
		return false
	}
	for i := 1; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// validHostname checks an ASCII (punycode) hostname: lowercase letters,
// digits, "-" and "_" in non-empty labels of at most 63 characters, 253 in
// all.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !hostnameByte(label[i]) {
				return false
			}
		}
	}
	return true
}

func hostnameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
