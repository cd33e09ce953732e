package imports_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/licensing"
)

// The heartbeat and floating columns (docs/licensing.md#floating-licenses):
// imported with the create rules (an interval under 60 s or an unknown
// heartbeat_missed is a bad row), exported, and carried through a round
// trip in JSON Lines.
func TestHeartbeatColumns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1000)
	ctx := context.Background()
	newProduct(t, e.d, "ACME")
	file := "license_code,product_reference_id,parallel_uses,floating,heartbeat_interval,heartbeat_missed\n" +
		"FLOAT-1,ACME,3,true,120,\n" +
		"KEEP-1,ACME,1,,3600,keep\n" +
		"BAD-1,ACME,1,,30,\n" +
		"BAD-2,ACME,1,,600,sometimes\n"
	im := e.upload(imports.Licenses, "hb.csv", file)
	if im.GoodRows != 2 || im.BadRows != 2 || len(im.Problems) != 2 || im.Problems[0].Field != "heartbeat_interval" || im.Problems[1].Field != "heartbeat_missed" {
		t.Fatalf("upload %+v %+v", im, im.Problems)
	}
	if done := e.run(im, imports.Skip); done.Inserted != 2 {
		t.Fatalf("report %+v", done)
	}
	jsonl, _ := e.svc.Formats().Get("jsonl")
	var out bytes.Buffer
	if err := e.svc.ExportLicenses(ctx, &out, jsonl, licensing.LicenseFilter{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"heartbeat_interval":"120"`) {
		t.Fatalf("export:\n%s", out.String())
	}
	fresh := newEnv(t, 1000)
	newProduct(t, fresh.d, "ACME")
	if done := fresh.run(fresh.upload(imports.Licenses, "l.jsonl", out.String()), imports.Skip); done.Inserted != 2 {
		t.Fatalf("round trip %+v %+v", done, done.Problems)
	}
	snapshot := func(e *env) string {
		var rows []string
		if err := e.d.Bun.NewRaw(`SELECT concat_ws('|', license_code, floating, heartbeat_interval, heartbeat_missed) FROM licenses ORDER BY 1`).
			Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		return strings.Join(rows, "\n")
	}
	if got, want := snapshot(fresh), snapshot(e); got != want || !strings.Contains(got, "FLOAT-1|t|120") || !strings.Contains(got, "KEEP-1|f|3600|keep") {
		t.Fatalf("round trip:\n%s\nwant\n%s", got, want)
	}
}
