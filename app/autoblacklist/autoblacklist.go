// Package autoblacklist owns the auto-blacklist (docs/features.md#security): the
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
	"net"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/errkind"
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
	return RunWith(ctx, db, now, Options{})
}

// Options change how Run works out offenders.
type Options struct {
	// Resolve gives a domain's addresses; nil is the system's resolver
	// (each lookup bounded by resolveTimeout).
	Resolve func(ctx context.Context, host string) ([]string, error)
}

// resolveTimeout bounds one domain's lookup.
const resolveTimeout = 3 * time.Second

// RunWith is Run with opts. Only what the connection showed counts
// (docs/deploy.md#auto-blacklist): an IP by the peer address of its failed
// attempts (never X-API-IP), and a domain (X-API-URL, which anyone with the
// external key may claim) by its failed attempts that came from one of the
// domain's own addresses.
func RunWith(ctx context.Context, db bun.IDB, now time.Time, opts Options) (Result, error) {
	resolve := opts.Resolve
	if resolve == nil {
		resolve = systemResolve
	}
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
			found, err := domainOffenders(ctx, tx, since, n, resolve)
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
			found, err := offenders(ctx, tx, "peer_ip", since, n)
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
// domainOffenders are the domains with at least n failed attempts in the
// window that came from the domain's own addresses: a domain over n from
// any address is looked up, and only its failures whose peer address is
// one of the domain's count.
func domainOffenders(ctx context.Context, tx bun.Tx, since time.Time, n int, resolve func(context.Context, string) ([]string, error)) ([]string, error) {
	candidates, err := offenders(ctx, tx, "domain", since, n)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range candidates {
		addrs, err := resolve(ctx, d)
		if err != nil || len(addrs) == 0 {
			continue // no address: nothing shows the failures came from it
		}
		var count int
		err = tx.NewRaw(`SELECT count(*) FROM (
				SELECT a.peer_ip AS p FROM activations AS a WHERE NOT a.is_valid AND a.created_at >= ?0 AND a.domain = ?1
				UNION ALL
				SELECT dl.peer_ip FROM download_logs AS dl WHERE NOT dl.is_valid AND dl.downloaded_at >= ?0 AND dl.domain = ?1
			) AS f WHERE f.p IN (?2)`, since, d, bun.List(addrs)).Scan(ctx, &count)
		if err != nil {
			return nil, fmt.Errorf("auto-blacklist: count failed attempts of %s from its addresses: %w", d, err)
		}
		if count >= n {
			out = append(out, d)
		}
	}
	return out, nil
}

// systemResolve looks host up with the system's resolver, the addresses in
// canonical form.
func systemResolve(ctx context.Context, host string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		if canon, err := licensing.CanonicalIP(ip.String()); err == nil {
			out = append(out, canon)
		}
	}
	return out, nil
}

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

// Blocked is an entry the auto-blacklist added that is still blacklisted.
type Blocked struct {
	Kind string // "domain" or "ip"
	Item string
	At   time.Time
}

// ListBlocked returns the entries the auto-blacklist added, newest first,
// that are still in the blacklist settings: what the console shows with a
// button to remove each (docs/deploy.md#auto-blacklist).
func ListBlocked(ctx context.Context, idb bun.IDB) ([]Blocked, error) {
	set, err := settings.Load(ctx, idb)
	if err != nil {
		return nil, err
	}
	var rows []Blocked
	err = idb.NewRaw(`SELECT DISTINCT ON (data->>'kind', data->>'item') data->>'kind' AS kind, data->>'item' AS item, created_at AS at
		FROM activity_log WHERE type = 'blacklist.auto' ORDER BY data->>'kind', data->>'item', created_at DESC`).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("auto-blacklist: list blocked: %w", err)
	}
	out := rows[:0]
	for _, b := range rows {
		list := set.BlacklistedDomains
		if b.Kind == "ip" {
			list = set.BlacklistedIPs
		}
		if slices.Contains(list, b.Item) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b Blocked) int { return b.At.Compare(a.At) })
	return out, nil
}

// ErrNotBlocked is a removal of an entry that is not blacklisted.
var ErrNotBlocked = errkind.New(errkind.NotFound, "not blacklisted")

// Unblock removes item (kind "domain" or "ip") from its blacklist setting
// and logs who did; every node's cache drops the setting on commit.
func Unblock(ctx context.Context, db bun.IDB, by audit.Source, kind, item string) error {
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", lockKey); err != nil {
			return fmt.Errorf("auto-blacklist lock: %w", err)
		}
		set, err := settings.Load(ctx, tx)
		if err != nil {
			return err
		}
		key, list, label := "blacklisted_domains", set.BlacklistedDomains, "Domain"
		if kind == "ip" {
			key, list, label = "blacklisted_ips", set.BlacklistedIPs, "IP"
		} else if kind != "domain" {
			return ErrNotBlocked
		}
		i := slices.Index(list, item)
		if i < 0 {
			return ErrNotBlocked
		}
		rest := slices.Delete(slices.Clone(list), i, i+1)
		if _, err := settings.Set(ctx, tx, by, map[string]string{key: strings.Join(rest, "\n")}); err != nil {
			return fmt.Errorf("auto-blacklist: remove %s: %w", item, err)
		}
		return audit.Record(ctx, tx, audit.Entry{
			Type: "blacklist.removed", Actor: by.Actor, IP: by.IP,
			Message: fmt.Sprintf("%s %s was removed from the blacklist.", label, item),
			Data:    map[string]any{"kind": kind, "item": item},
		})
	})
}
