package catalog

import (
	"fmt"
	"strings"

	"github.com/licensor/licensor/app/fields"
)

// Entitlement limits (docs/licensing.md#entitlements).
const (
	EntitlementMax     = 50
	EntitlementsPerMax = 100
)

// NormalizeEntitlements checks a list of entitlement names sent for field:
// each an identifier ([A-Za-z0-9._-]+) of at most EntitlementMax
// characters, at most EntitlementsPerMax of them. Blanks are dropped,
// duplicates (ignoring case) kept once, the first spelling winning; the
// result is never nil.
func NormalizeEntitlements(verr *fields.Error, field string, in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, n := range in {
		n = strings.TrimSpace(n)
		if n == "" || seen[strings.ToLower(n)] {
			continue
		}
		if fields.Length(n) > EntitlementMax || !fields.IsIdentifier(n) {
			verr.Add(field, fmt.Sprintf("The %s field holds an invalid name: each is letters, digits, '.', '_' or '-', at most %d characters.", fields.Label(field), EntitlementMax))
			return out
		}
		seen[strings.ToLower(n)] = true
		out = append(out, n)
	}
	if len(out) > EntitlementsPerMax {
		verr.Add(field, fmt.Sprintf("The %s field may not have more than %d items.", fields.Label(field), EntitlementsPerMax))
	}
	return out
}

// Entitled returns names spelled as p defines them, and the names p does
// not define (ignoring case).
func (p *Product) Entitled(names []string) (known, unknown []string) {
	known = []string{}
	for _, n := range names {
		found := false
		for _, d := range p.Entitlements {
			if strings.EqualFold(n, d) {
				known = append(known, d)
				found = true
				break
			}
		}
		if !found {
			unknown = append(unknown, n)
		}
	}
	return known, unknown
}
