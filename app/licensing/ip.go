package licensing

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// ErrInvalidIP is returned for a value that is not an IP address (or, for
// entries, not an IP address or CIDR range).
var ErrInvalidIP = errors.New("licensing: not a valid IP address or CIDR range")

// ParseIP parses a caller or stored IP address (docs/api/authentication.md#headers): surrounding
// space is ignored, an IPv4-mapped IPv6 address becomes its IPv4 form, and
// zoned addresses ("fe80::1%eth0") are refused.
func ParseIP(s string) (netip.Addr, error) {
	addr, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, ErrInvalidIP
	}
	return addr.Unmap(), nil
}

// CanonicalIP returns s in the canonical text form IPs are kept in:
// "::FFFF:192.0.2.1" → "192.0.2.1", "2001:DB8:0:0::1" → "2001:db8::1".
func CanonicalIP(s string) (string, error) {
	addr, err := ParseIP(s)
	if err != nil {
		return "", err
	}
	return addr.String(), nil
}

// NormalizeIPEntry normalises a licensed-IP entry for storage
// (docs/api/authentication.md#hosts-and-ips): an IP in canonical form, a CIDR
// range with its host bits cleared ("10.0.0.5/24" → "10.0.0.0/24"), or an IPv4
// pattern whose trailing octets are "*", turned into a range: "10.0.0.*" →
// "10.0.0.0/24", "10.0.*" and "10.0.*.*" → "10.0.0.0/16", "*" → "0.0.0.0/0".
// Anything else returns ErrInvalidIP.
func NormalizeIPEntry(raw string) (string, error) {
	p, err := parseIPEntry(raw)
	if err != nil {
		return "", err
	}
	if !strings.ContainsAny(raw, "/*") {
		return p.Addr().String(), nil
	}
	return p.String(), nil
}

// IPMatches reports whether the caller IP ip is licensed by entries: an
// entry is an IP or a CIDR range (trailing-"*" patterns are understood
// too); IPv4-mapped IPv6 addresses compare as IPv4. An invalid ip matches
// nothing, and invalid entries are skipped.
func IPMatches(entries []string, ip string) bool {
	addr, err := ParseIP(ip)
	if err != nil {
		return false
	}
	for _, e := range entries {
		p, err := parseIPEntry(e)
		if err == nil && prefixContains(p, addr) {
			return true
		}
	}
	return false
}

// parseIPEntry reads an entry as a masked prefix (an IP is a /32 or /128).
func parseIPEntry(raw string) (netip.Prefix, error) {
	s := strings.TrimSpace(raw)
	switch {
	case strings.Contains(s, "*"):
		return parseIPv4Wildcard(s)
	case strings.Contains(s, "/"):
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, ErrInvalidIP
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	default:
		addr, err := ParseIP(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
}

// parseIPv4Wildcard reads "a.b.c.*", "a.b.*", "a.*.*.*", "*": leading
// decimal octets, then only "*" (missing octets count as "*").
func parseIPv4Wildcard(s string) (netip.Prefix, error) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Prefix{}, ErrInvalidIP
	}
	var octets [4]byte
	fixed := 0
	for i, part := range parts {
		if part == "*" {
			continue
		}
		if i != fixed {
			return netip.Prefix{}, ErrInvalidIP // a number after a "*"
		}
		n, err := strconv.ParseUint(part, 10, 8)
		if err != nil || len(part) > 1 && part[0] == '0' {
			return netip.Prefix{}, ErrInvalidIP
		}
		octets[i] = byte(n)
		fixed++
	}
	if fixed == len(parts) {
		return netip.Prefix{}, ErrInvalidIP // no "*" at all
	}
	return netip.PrefixFrom(netip.AddrFrom4(octets), 8*fixed), nil
}

// prefixContains matches addr (already unmapped) against p, also in its
// IPv4-mapped form for IPv6 ranges that cover ::ffff:0:0/96.
func prefixContains(p netip.Prefix, addr netip.Addr) bool {
	if p.Contains(addr) {
		return true
	}
	return addr.Is4() && p.Addr().Is6() && p.Contains(netip.AddrFrom16(addr.As16()))
}
