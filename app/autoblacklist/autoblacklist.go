// Package autoblacklist owns the auto-blacklist (product.md §10): the
// hourly scan that adds a domain or an IP to the blacklisted_domains or
// blacklisted_ips setting once it has caused at least
// blacklist_domain_after_failed_attempts / blacklist_ip_after_failed_attempts
// recorded failed activations and refused downloads within auto_blacklist_window_days (0 turns a
// kind off). Refused update downloads (the download log) count as failed
// attempts too.
package autoblacklist

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
)

// lockKey serialises scans across nodes ("AUTOBLK" in ASCII).
const lockKey = 0x4155544f424c4b

// Result lists what one scan added.
type Result struct {
	Domains []string
	IPs     []string
}

// Run scans once at now. It works in one transaction holding an advisory
// lock, so two nodes never add (and log) the same entry twice; the
// settings are changed through settings.Set, so every node's cache drops
// them when it commits.
func Run(ctx context.Context, db bun.IDB, now time.Time) (Result, error) {
	var res Result
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res = Result{}
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", lockKey); err != nil {
			return fmt.Errorf("auto-blacklist lock: %w", err)
		}
		set, err := settings.Load(ctx, tx)
		if err != nil {
			return err
		}
		since := now.Add(-time.Duration(set.AutoBlacklistWindowDays) * 24 * time.Hour)
		changes := map[string]string{}
		var entries []audit.Entry

		if n := set.BlacklistDomainAfterFailedAttempts; n > 0 {
			found, err := offenders(ctx, tx, "domain", since, n)
			if err != nil {
				return err
			}
			for _, d := range found {
				if !validDomainEntry(d) || licensing.BlacklistMatchDomain(set.BlacklistedDomains, d, set.NormalizeDomainVariants) {
					continue
				}
				res.Domains = append(res.Domains, d)
				entries = append(entries, entry("Domain", d, n))
			}
			if len(res.Domains) > 0 {
				changes["blacklisted_domains"] = strings.Join(append(append([]string{}, set.BlacklistedDomains...), res.Domains...), "\n")
			}
		}
		if n := set.BlacklistIPAfterFailedAttempts; n > 0 {
			found, err := offenders(ctx, tx, "ip", since, n)
			if err != nil {
				return err
			}
			for _, ip := range found {
				addr, err := licensing.ParseIP(ip)
				if err != nil || licensing.BlacklistMatchIP(set.BlacklistedIPs, ip) {
					continue
				}
				res.IPs = append(res.IPs, addr.String())
				entries = append(entries, entry("IP", addr.String(), n))
			}
			if len(res.IPs) > 0 {
				changes["blacklisted_ips"] = strings.Join(append(append([]string{}, set.BlacklistedIPs...), res.IPs...), "\n")
			}
		}
		if len(changes) == 0 {
			return nil
		}
		if _, err := settings.Set(ctx, tx, audit.Source{Actor: audit.System}, changes); err != nil {
			return fmt.Errorf("auto-blacklist: save blacklists: %w", err)
		}
		return audit.RecordAll(ctx, tx, entries)
	})
	return res, err
}

// offenders are the values of col (domain or ip) with at least n failed
// activations since since, in order.
func offenders(ctx context.Context, tx bun.Tx, col string, since time.Time, n int) ([]string, error) {
	var out []string
	// Failed activations and refused update downloads count alike.
	err := tx.NewRaw(`SELECT v FROM (
			SELECT ?0 AS v FROM activations AS a WHERE NOT a.is_valid AND a.created_at >= ?1
			UNION ALL
			SELECT ?2 AS v FROM download_logs AS dl WHERE NOT dl.is_valid AND dl.downloaded_at >= ?1
		) AS f WHERE coalesce(v, '') <> '' GROUP BY v HAVING count(*) >= ?3 ORDER BY v`,
		bun.Ident("a."+col), since, bun.Ident("dl."+col), n).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("auto-blacklist: count failed attempts by %s: %w", col, err)
	}
	return out, nil
}

// validDomainEntry keeps out values the blacklisted_domains setting would
// refuse (a machine fingerprint sent as a URL host may be anything).
func validDomainEntry(d string) bool {
	return len(d) <= 253 && !strings.ContainsFunc(d, func(r rune) bool { return unicode.IsSpace(r) || r == ',' })
}

func entry(kind, item string, n int) audit.Entry {
	return audit.Entry{
		Type:    "blacklist.auto",
		Actor:   audit.System,
		Message: fmt.Sprintf("%s %s was blacklisted as it exceeded %d failed attempts.", kind, item, n),
		Data:    map[string]any{"kind": strings.ToLower(kind), "item": item, "threshold": n},
	}
}
