package licensing

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/db/dbtest"
)

// Every row trigger on licenses' updates names the columns it watches
// (UPDATE OF …, migration 0145), each column its WHEN compares among them,
// and none of them is a counter activate's lock sets (lockLicenseSQL):
// PostgreSQL then skips compiling the WHEN conditions for activate's
// update, and still fires each trigger whenever a watched column changes.
// licenses has no BEFORE UPDATE trigger, which could change a column the
// statement does not set.
func TestLicenseUpdateTriggersNameTheColumnsTheyWatch(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	var triggers []struct {
		Name    string   `bun:"tgname"`
		Def     string   `bun:"def"`
		Before  bool     `bun:"before"`
		Columns []string `bun:"columns,array"`
	}
	// tgtype bits: 1 row, 2 before, 16 update.
	if err := d.Bun.NewRaw(`SELECT t.tgname, pg_get_triggerdef(t.oid) AS def, (t.tgtype & 2) <> 0 AS before,
			ARRAY(SELECT a.attname::text FROM pg_attribute AS a
				WHERE a.attrelid = t.tgrelid AND a.attnum = ANY (t.tgattr) ORDER BY a.attname) AS columns
		FROM pg_trigger AS t
		WHERE t.tgrelid = 'licenses'::regclass AND NOT t.tgisinternal AND (t.tgtype & 1) <> 0 AND (t.tgtype & 16) <> 0
		ORDER BY t.tgname`).Scan(ctx, &triggers); err != nil {
		t.Fatal(err)
	}
	if len(triggers) == 0 {
		t.Fatal("no row trigger on licenses' updates: the query is wrong")
	}
	lockSets := regexp.MustCompile(`(?:SET|,)\s+([a-z_]+)\s*=`).FindAllStringSubmatch(lockLicenseSQL, -1)
	if len(lockSets) == 0 {
		t.Fatalf("no column set in lockLicenseSQL: the expression is wrong\n%s", lockLicenseSQL)
	}
	compared := regexp.MustCompile(`(?i)\b(?:old|new)\.([a-z_]+)`)
	for _, tr := range triggers {
		if tr.Before {
			t.Errorf("%s is a BEFORE UPDATE trigger: it could change a column the statement does not set, which the AFTER triggers' column lists would miss", tr.Name)
		}
		if len(tr.Columns) == 0 {
			t.Errorf("%s has no column list (UPDATE OF …): its WHEN is compiled for every update of licenses, activate's too\n%s", tr.Name, tr.Def)
			continue
		}
		for _, m := range compared.FindAllStringSubmatch(tr.Def, -1) {
			if !slices.Contains(tr.Columns, strings.ToLower(m[1])) {
				t.Errorf("%s compares %s but does not list it (UPDATE OF %s): a change of %s alone would not fire it", tr.Name, m[1], strings.Join(tr.Columns, ", "), m[1])
			}
		}
		for _, set := range lockSets {
			if slices.Contains(tr.Columns, set[1]) {
				t.Errorf("%s watches %s, which activate's lock sets on every call", tr.Name, set[1])
			}
		}
	}
}
