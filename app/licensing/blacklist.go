package licensing

import (
	"strings"

	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
)

// The blacklists of docs/api/authentication.md#blacklists (settings blacklisted_ips,
// blacklisted_domains, blacklisted_buyer_names, blacklisted_license_codes)
// share one entry syntax, ignoring case:
//
//	*x*   values containing x
//	*x    values ending with x
//	x*    values starting with x
//	x     the whole value
//
// so "*" alone matches every value. Blank entries and empty values never
// match.

// CheckBlacklists applies the license-code and buyer-name blacklists to
// the values sent ("" is not checked): a *fields.Error on license_code and
// client_name, answered 422 by the API.
func CheckBlacklists(set *settings.Values, code, clientName string) error {
	// Verify calls this on every request: nothing is allocated unless a
	// value is blacklisted.
	badCode := BlacklistMatch(set.BlacklistedLicenseCodes, code)
	badName := BlacklistMatch(set.BlacklistedBuyerNames, clientName)
	if !badCode && !badName {
		return nil
	}
	errs := new(fields.Error)
	if badCode {
		errs.Add("license_code", FailCodeBlacklisted.Message)
	}
	if badName {
		errs.Add("client_name", FailBuyerBlacklisted.Message)
	}
	return errs
}

// BlacklistMatch reports whether value (a license code or buyer name) is
// blacklisted by entries.
func BlacklistMatch(entries []string, value string) bool {
	v := strings.ToLower(strings.TrimSpace(value))
	if v == "" {
		return false
	}
	for _, e := range entries {
		if patternMatches(e, v) {
			return true
		}
	}
	return false
}

// BlacklistMatchIP reports whether the caller IP ip is blacklisted by
// entries, which may also be exact IPs (compared as addresses, so
// "::ffff:192.0.2.1" is "192.0.2.1") and CIDR ranges. Patterns are matched
// against the canonical text of ip.
func BlacklistMatchIP(entries []string, ip string) bool {
	if len(entries) == 0 {
		return false
	}
	addr, err := ParseIP(ip)
	if err != nil {
		return BlacklistMatch(entries, ip)
	}
	text := addr.String()
	for _, e := range entries {
		e = strings.TrimSpace(e)
		switch {
		case strings.Contains(e, "/"):
			if p, err := parseIPEntry(e); err == nil && prefixContains(p, addr) {
				return true
			}
		case !strings.Contains(e, "*"):
			if a, err := ParseIP(e); err == nil && a == addr {
				return true
			}
		default:
			if patternMatches(e, text) {
				return true
			}
		}
	}
	return false
}

// BlacklistMatchDomain reports whether host is blacklisted by entries, both
// sides normalised (docs/api/authentication.md#hosts-and-ips): host is
// normalised without dropping "www." (pass the caller host, already normalised
// with the setting), an exact entry with dropWWW (setting
// normalize_domain_variants). Wildcard entries are matched against the
// normalised host, ignoring case.
func BlacklistMatchDomain(entries []string, host string, dropWWW bool) bool {
	if len(entries) == 0 {
		return false // the usual case, on every request: no parsing
	}
	h, err := NormalizeHost(host, false)
	if err != nil {
		return BlacklistMatch(entries, host)
	}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if strings.HasPrefix(e, "*") || strings.HasSuffix(e, "*") {
			if patternMatches(e, h) {
				return true
			}
			continue
		}
		if n, err := NormalizeHost(e, dropWWW); err == nil && n == h {
			return true
		}
	}
	return false
}

// patternMatches matches one entry against a lowercased, non-empty value.
func patternMatches(entry, value string) bool {
	e := strings.ToLower(strings.TrimSpace(entry))
	if e == "" {
		return false
	}
	lead, trail := e[0] == '*', len(e) > 1 && e[len(e)-1] == '*'
	switch {
	case lead && trail:
		return strings.Contains(value, e[1:len(e)-1])
	case lead:
		return strings.HasSuffix(value, e[1:])
	case trail:
		return strings.HasPrefix(value, e[:len(e)-1])
	default:
		return value == e
	}
}
