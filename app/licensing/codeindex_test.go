package licensing

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/app/db"
)

// Verify by code finds a license by its code as citext's = does, whatever
// index PostgreSQL looks it up through (since 0150 the hash index
// licenses_license_code_hash_idx, citext's hash of the lowercased code):
// codes stored in mixed case, probed in other cases, non-ASCII codes whose
// lowercase is not ASCII's (ß is not ss, the Kelvin sign, a final sigma,
// the dotted capital I, a digraph, a ligature). The expected license of
// each probe is the one whose lower(code) equals lower(probe), the
// definition of citext's equality, compared without any index; both
// statements (a read alone, codeStateSQL, and a batch, codeStatesSQL), in
// custom and generic plans, must find exactly it.
func TestVerifyCodeLookupMatchesCitext(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	stored := []string{"Mixed-Case-Ab", "straße-1", "STRASSE-1", "ΣΊΣΥΦΟΣ-ς", "İstanbul-1", "Kelvin-\u212a", "ǅ-digraph", "ﬁle-ligature", "ÀÉÎÕÜ-Ñ", "lower-only"}
	for _, code := range stored {
		if _, err := f.d.Bun.ExecContext(f.ctx, `INSERT INTO licenses (product_id, license_code) VALUES (?, ?)`, f.product.ID, code); err != nil {
			t.Fatalf("license %q: %v", code, err)
		}
	}
	// Many more licenses, so a lookup goes through an index, not a scan.
	if _, err := f.d.Bun.ExecContext(f.ctx, `INSERT INTO licenses (product_id, license_code)
		SELECT ?, 'Bulk-' || i FROM generate_series(1, 2000) AS i`, f.product.ID); err != nil {
		t.Fatal(err)
	}
	var probes []string
	for _, code := range append(stored, "Bulk-1234") {
		probes = append(probes, code, strings.ToUpper(code), strings.ToLower(code), " "+code)
	}
	probes = append(probes, "strasse-1", "STRAßE-1", "kelvin-k", "KELVIN-K", "σίσυφοσ-σ", "ΣΊΣΥΦΟΣ-Σ", "istanbul-1", "i̇stanbul-1",
		"Ǆ-DIGRAPH", "ǆ-digraph", "file-ligature", "FILE-LIGATURE", "àéîõü-ñ", "aeiou-n", "mixed-case-ab", "MIXED-CASE-AB", "Mixed-Case-Ab ", "")

	want := make([]int64, len(probes))
	for i, p := range probes {
		var ids []int64
		// lower() on text cannot use any index of licenses.
		if err := f.d.Bun.NewRaw(`SELECT id FROM licenses WHERE lower(license_code::text) = lower(?::text) AND product_id = ?`, p, f.product.ID).
			Scan(f.ctx, &ids); err != nil {
			t.Fatal(err)
		}
		if len(ids) > 1 {
			t.Fatalf("probe %q: %d licenses", p, len(ids))
		}
		if len(ids) == 1 {
			want[i] = ids[0]
		}
	}
	// The probes found what citext finds: each stored code by each of its
	// case forms, and not the codes its lowercase only resembles.
	found := map[string]bool{}
	for i, p := range probes {
		found[p] = want[i] != 0
	}
	for p, ok := range map[string]bool{"MIXED-CASE-AB": true, "STRAßE-1": true, "strasse-1": true, "ΣΊΣΥΦΟΣ-Σ": false, "aeiou-n": false, "àéîõü-ñ": true, " lower-only": false} {
		if found[p] != ok {
			t.Fatalf("probe %q found by lower(): %v, want %v (the test's premise)", p, found[p], ok)
		}
	}

	keys := make([]codeKey, len(probes))
	for i, p := range probes {
		keys[i] = codeKey{productID: f.product.ID, code: p}
	}
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		if err := db.WithPgx(f.ctx, f.d.SQL, func(c *pgx.Conn) error {
			if _, err := c.Exec(f.ctx, "SET plan_cache_mode = "+mode); err != nil {
				return err
			}
			defer func() { _, _ = c.Exec(f.ctx, "RESET plan_cache_mode") }()
			// Each alone (codeStateSQL), then all in one batch
			// (codeStatesSQL), each statement prepared and run more than
			// five times, so the generic plan's choice counts.
			for round := range 2 {
				for i := range keys {
					states, errs := make([]*codeState, 1), make([]error, 1)
					if err := queryCodeStates(f.ctx, c, pgx.QueryExecModeCacheStatement, keys[i:i+1], states, errs); err != nil || errs[0] != nil {
						t.Fatalf("%s: probe %q alone: %v %v", mode, probes[i], err, errs[0])
					}
					if got := stateLicense(states[0]); got != want[i] {
						t.Errorf("%s, round %d: probe %q alone found license %d, citext's = finds %d", mode, round, probes[i], got, want[i])
					}
				}
				for n := 2; n <= len(keys); n += len(keys) / 3 {
					states, errs := make([]*codeState, n), make([]error, n)
					if err := queryCodeStates(f.ctx, c, pgx.QueryExecModeCacheStatement, keys[:n], states, errs); err != nil {
						t.Fatalf("%s: a batch: %v", mode, err)
					}
					for i := range n {
						if got := stateLicense(states[i]); errs[i] != nil || got != want[i] {
							t.Errorf("%s, round %d: probe %q in a batch of %d found license %d (%v), citext's = finds %d", mode, round, probes[i], n, got, errs[i], want[i])
						}
					}
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// stateLicense is the license st is of, 0 for none.
func stateLicense(st *codeState) int64 {
	if st == nil {
		return 0
	}
	return st.licenseID
}
