package imports_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/settings"
)

var admin = audit.Source{Actor: audit.Actor{Type: audit.ActorAdmin, Name: "Ann"}, IP: "127.0.0.1"}

type env struct {
	t   *testing.T
	d   *db.DB
	svc *imports.Service
}

// newEnv is a fresh database and an imports service of batch size batch.
// The import job is the service's Run (jobs/import.go calls nothing else),
// so run calls it directly; jobs/ tests the job itself.
func newEnv(t *testing.T, batch int) *env {
	t.Helper()
	d := dbtest.New(t)
	store, err := settings.NewStore(d.Bun, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobqueue.New(d.SQL)
	if err != nil {
		t.Fatal(err)
	}
	svc := imports.New(imports.Options{DB: d.Bun, Settings: store, Queue: q, BatchSize: batch,
		Customers: customers.NewService(nil, customers.Hooks{}), Licensing: licensing.NewService(licensing.Options{})})
	return &env{t: t, d: d, svc: svc}
}

func (e *env) upload(kind imports.Kind, name, content string) *imports.Import {
	e.t.Helper()
	im, err := e.svc.Upload(context.Background(), admin, kind, name, []byte(content))
	if err != nil {
		e.t.Fatalf("upload %s: %v", name, err)
	}
	return im
}

// run starts im (queueing its job) and runs it as the job does.
func (e *env) run(im *imports.Import, onDuplicate string) *imports.Import {
	e.t.Helper()
	ctx := context.Background()
	if err := e.svc.Start(ctx, admin, im.ID, onDuplicate, false); err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.Run(ctx, im.ID); err != nil {
		e.t.Fatal(err)
	}
	got, err := e.svc.Get(ctx, im.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if !got.Finished() {
		e.t.Fatalf("import %d not finished after its run: %+v", im.ID, got)
	}
	return got
}

func (e *env) emails() []string {
	e.t.Helper()
	var out []string
	if err := e.d.Bun.NewRaw("SELECT email::text FROM customers ORDER BY email").Scan(context.Background(), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

const customersCSV = "name,email,client_id,password,confirmed\n" +
	"Ada Lovelace,ada@example.com,client-ada,,true\n" +
	"Bad Row,not-an-email,,,\n" +
	"Charles Babbage,charles@example.com,,a long password,no\n"

func TestCSVPreviewListsBadRowsThenImportsGoodRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1000)
	im := e.upload(imports.Customers, "people.csv", customersCSV)
	if im.TotalRows != 3 || im.GoodRows != 2 || im.BadRows != 1 {
		t.Fatalf("counts %d/%d/%d", im.TotalRows, im.GoodRows, im.BadRows)
	}
	if len(im.Problems) != 1 || im.Problems[0].Line != 3 || im.Problems[0].Field != "email" || !strings.Contains(im.Problems[0].Message, "valid email") {
		t.Fatalf("problems %+v", im.Problems)
	}
	if len(im.Sample) != 2 || im.Sample[0].Line != 2 {
		t.Fatalf("sample %+v", im.Sample)
	}
	// Nothing is written before the admin chooses.
	if got := e.emails(); len(got) != 0 {
		t.Fatalf("rows before the choice: %v", got)
	}
	if err := e.svc.Start(context.Background(), admin, im.ID, imports.Skip, true); !errors.Is(err, imports.ErrHasBadRows) {
		t.Fatalf("all or nothing with a bad row: %v", err)
	}
	done := e.run(im, imports.Skip)
	if done.Status != imports.StatusDone || done.Inserted != 2 || done.Skipped != 1 || done.Processed != 3 {
		t.Fatalf("report %+v", done)
	}
	if got := e.emails(); strings.Join(got, ",") != "ada@example.com,charles@example.com" {
		t.Fatalf("imported %v", got)
	}
	ctx := context.Background()
	ada, err := customers.ByEmail(ctx, e.d.Bun, "ADA@example.com")
	if err != nil || ada.ClientID != "client-ada" || !ada.Confirmed() || ada.HasPassword() {
		t.Fatalf("ada %+v %v", ada, err)
	}
	ch, err := customers.ByEmail(ctx, e.d.Bun, "charles@example.com")
	if err != nil || ch.Confirmed() || !ch.HasPassword() || len(ch.ClientID) != 36 {
		t.Fatalf("charles %+v %v", ch, err)
	}
	var logged int
	_ = e.d.Bun.NewRaw("SELECT count(*) FROM activity_log WHERE type IN ('import.started', 'import.finished')").Scan(ctx, &logged)
	if logged != 2 {
		t.Fatalf("activity log entries: %d", logged)
	}
}

func TestImportNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1000)
	im := e.upload(imports.Customers, "people.csv", customersCSV)
	if err := e.svc.Cancel(context.Background(), admin, im.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Start(context.Background(), admin, im.ID, imports.Skip, false); !errors.Is(err, imports.ErrNotPending) {
		t.Fatalf("start after cancel: %v", err)
	}
	// Nothing can import it later: no job was queued (and this test runs
	// no worker).
	var queued int
	if err := e.d.Bun.NewRaw("SELECT count(*) FROM river_job WHERE kind = 'import'").Scan(context.Background(), &queued); err != nil {
		t.Fatal(err)
	}
	if queued != 0 {
		t.Fatalf("%d import jobs queued after 'nothing'", queued)
	}
	if got := e.emails(); len(got) != 0 {
		t.Fatalf("imported after 'nothing': %v", got)
	}
}

func TestDuplicatesSkipOrUpdate(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{imports.Skip, imports.Update} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, 1000)
			ctx := context.Background()
			old, err := customers.NewService(nil, customers.Hooks{}).Create(ctx, e.d.Bun, admin, settings.Defaults(),
				customers.CreateParams{Name: "Old Name", Email: "ada@example.com", ClientID: "client-ada"})
			if err != nil {
				t.Fatal(err)
			}
			file := "name,email,client_id\nNew Name,ADA@example.com,\nBob Builder,bob@example.com,\n" +
				"Bob Again,bob@example.com,\n" // a duplicate inside the file is a bad row
			im := e.upload(imports.Customers, "dups.csv", file)
			if im.Duplicates != 1 || im.BadRows != 1 || !strings.Contains(im.Problems[0].Message, "also on line 3") {
				t.Fatalf("preview %+v", im)
			}
			done := e.run(im, mode)
			got, err := customers.Get(ctx, e.d.Bun, old.ID)
			if err != nil {
				t.Fatal(err)
			}
			if mode == imports.Skip && (got.Name != "Old Name" || done.Inserted != 1 || done.Updated != 0 || done.Skipped != 2) {
				t.Fatalf("skip: %q %+v", got.Name, done)
			}
			if mode == imports.Update && (got.Name != "New Name" || done.Inserted != 1 || done.Updated != 1 || done.Skipped != 1) {
				t.Fatalf("update: %q %+v", got.Name, done)
			}
		})
	}
}

func newProduct(t *testing.T, d *db.DB, ref string) *catalog.Product {
	t.Helper()
	p, err := catalog.NewService(nil).CreateProduct(context.Background(), d.Bun, admin, settings.Defaults(),
		catalog.ProductInput{Name: fields.Some("Product " + ref), ReferenceID: fields.Some(ref)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJSONLinesLicenses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1000)
	newProduct(t, e.d, "ACME")
	file := `{"license_code":"ACME-1","product_reference_id":"ACME","email":"a@example.com","uses":3,"domains":["example.com","b.example.org"],"expires_at":"2099-01-02","is_valid":false}
{"license_code":"ACME-2","product_reference_id":"NOPE"}

{"product_reference_id":"ACME","uses":"many"}
not json
{"product_reference_id":"ACME","customer_id":"c-1"}
`
	im := e.upload(imports.Licenses, "licenses.jsonl", file)
	if im.GoodRows != 2 || im.BadRows != 3 {
		t.Fatalf("counts %+v", im)
	}
	lines := map[int]string{}
	for _, p := range im.Problems {
		lines[p.Line] = p.Field + ": " + p.Message
	}
	if !strings.Contains(lines[2], "product_reference_id") || !strings.Contains(lines[4], "uses") || !strings.Contains(lines[5], "not a JSON object") {
		t.Fatalf("problems %v", lines)
	}
	done := e.run(im, imports.Skip)
	if done.Inserted != 2 {
		t.Fatalf("report %+v", done)
	}
	l, err := licensing.ByCode(context.Background(), e.d.Bun, "acme-1")
	if err != nil {
		t.Fatal(err)
	}
	if l.IsValid || *l.Uses != 3 || strings.Join(l.Domains, ",") != "example.com,b.example.org" || l.ExpiresAt.Year() != 2099 {
		t.Fatalf("license %+v", l)
	}
}

func TestFailingBatchIsRolledBackWhole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := context.Background()
	// A real failure inside the database: the trigger refuses one row of
	// the second batch after the first row of that batch was inserted.
	if _, err := e.d.Bun.ExecContext(ctx, `
		CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'boom refused'; END $$;
		CREATE TRIGGER refuse_boom BEFORE INSERT ON customers FOR EACH ROW
		WHEN (NEW.email = 'boom@example.com') EXECUTE FUNCTION refuse_boom();`); err != nil {
		t.Fatal(err)
	}
	// Line 4 updates a stored customer before line 5's insert fails: the
	// update must go with the batch.
	three, err := customers.NewService(nil, customers.Hooks{}).Create(ctx, e.d.Bun, admin, settings.Defaults(),
		customers.CreateParams{Name: "Old Three", Email: "three@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	file := "name,email\nOne One,one@example.com\nTwo Two,two@example.com\nNew Three,three@example.com\nBoom Boom,boom@example.com\nFive Five,five@example.com\n"
	done := e.run(e.upload(imports.Customers, "batches.csv", file), imports.Update)
	if done.Status != imports.StatusFailed || !strings.Contains(done.Error, "Batch 2 (lines 4–5)") || !strings.Contains(done.Error, "boom refused") {
		t.Fatalf("report %+v", done)
	}
	if got := strings.Join(e.emails(), ","); got != "one@example.com,three@example.com,two@example.com" {
		t.Fatalf("rows after the failed batch: %s", got)
	}
	if got, _ := customers.Get(ctx, e.d.Bun, three.ID); got.Name != "Old Three" {
		t.Fatalf("the failed batch's update stayed: %q", got.Name)
	}
	if done.Inserted != 2 || done.Batches != 1 {
		t.Fatalf("progress %+v", done)
	}
}

func TestUploadRefusesUnusableFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1000)
	for name, content := range map[string]string{
		"binary.csv": "name,email\x00\x01\x02",
		"sheet.xlsx": "PK\x03\x04",
		"empty.csv":  "",
		"header.csv": "name,email\n",
	} {
		_, err := e.svc.Upload(context.Background(), admin, imports.Customers, name, []byte(content))
		var fe *imports.FileError
		if !errors.As(err, &fe) {
			t.Errorf("%s: %v", name, err)
		}
	}
	big := bytes.Repeat([]byte("a"), imports.DefaultMaxBytes+1)
	if _, err := e.svc.Upload(context.Background(), admin, imports.Customers, "big.csv", big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized: %v", err)
	}
}

func TestExportRoundTripAndFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1000)
	ctx := context.Background()
	p := newProduct(t, e.d, "ACME")
	cs := customers.NewService(nil, customers.Hooks{})
	for _, c := range []customers.CreateParams{
		{Name: "Ada Lovelace", Email: "ada@example.com", Password: "a long password"},
		{Name: "Bob Builder", Email: "bob@example.com", ClientID: "client-bob"},
	} {
		if _, err := cs.Create(ctx, e.d.Bun, admin, settings.Defaults(), c); err != nil {
			t.Fatal(err)
		}
	}
	ls := licensing.NewService(licensing.Options{})
	uses, exp := 5, time.Date(2099, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, in := range []licensing.LicenseInput{
		{ProductReferenceID: fields.Some(p.ReferenceID), LicenseCode: fields.Some("CODE-1"), Uses: fields.Some(&uses),
			ExpiresAt: fields.Some(&exp), Domains: fields.Some([]string{"example.com"}), IPs: fields.Some([]string{"10.0.0.1"})},
		{ProductReferenceID: fields.Some(p.ReferenceID), LicenseCode: fields.Some("CODE-2"), IsValid: fields.Some(false)},
	} {
		if _, err := ls.CreateLicense(ctx, e.d.Bun, admin, settings.Defaults(), in); err != nil {
			t.Fatal(err)
		}
	}
	csv, _ := e.svc.Formats().Get("csv")
	jsonl, _ := e.svc.Formats().Get("jsonl")

	var filtered bytes.Buffer
	if err := e.svc.ExportCustomers(ctx, &filtered, csv, customers.Filter{Search: "bob"}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(filtered.String(), "\n") != 2 || !strings.Contains(filtered.String(), "client-bob") {
		t.Fatalf("filtered export:\n%s", filtered.String())
	}
	var blocked bytes.Buffer
	if err := e.svc.ExportLicenses(ctx, &blocked, jsonl, licensing.LicenseFilter{Status: licensing.StatusBlocked}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(blocked.String(), "\n") != 1 || !strings.Contains(blocked.String(), `"license_code":"CODE-2"`) {
		t.Fatalf("blocked export:\n%s", blocked.String())
	}

	var cu, li bytes.Buffer
	if err := e.svc.ExportCustomers(ctx, &cu, csv, customers.Filter{}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ExportLicenses(ctx, &li, jsonl, licensing.LicenseFilter{}); err != nil {
		t.Fatal(err)
	}
	snapshot := func(d *db.DB) string {
		var rows []string
		err := d.Bun.NewRaw(`SELECT concat_ws('|', name, email, client_id, password_hash, confirmed_at IS NOT NULL) FROM customers
			UNION ALL SELECT concat_ws('|', l.license_code, p.reference_id, l.uses, l.expires_at, l.domains, l.ips, l.is_valid, l.type)
			FROM licenses l JOIN products p ON p.id = l.product_id ORDER BY 1`).Scan(ctx, &rows)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(rows, "\n")
	}
	want := snapshot(e.d)

	fresh := newEnv(t, 1000)
	newProduct(t, fresh.d, "ACME")
	if done := fresh.run(fresh.upload(imports.Customers, "c.csv", cu.String()), imports.Skip); done.Inserted != 2 {
		t.Fatalf("customers round trip %+v", done)
	}
	if done := fresh.run(fresh.upload(imports.Licenses, "l.jsonl", li.String()), imports.Skip); done.Inserted != 2 {
		t.Fatalf("licenses round trip %+v %+v", done, done.Problems)
	}
	if got := snapshot(fresh.d); got != want {
		t.Fatalf("round trip differs:\n%s\nwant\n%s", got, want)
	}
}

// An import updating licenses that have activations, blocking one of them,
// and adding new ones, leaves every license's active_activations equal to
// the count of its active activations (migration 0110's triggers).
func TestImportKeepsActiveActivationCounters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1000)
	ctx := context.Background()
	newProduct(t, e.d, "ACME")
	lic := licensing.NewService(licensing.Options{})
	for code, hosts := range map[string][]string{"ACME-1": {"a.example.com", "b.example.com"}, "ACME-3": {"c.example.com"}} {
		if _, err := lic.CreateLicense(ctx, e.d.Bun, admin, settings.Defaults(), licensing.LicenseInput{
			ProductReferenceID: fields.Some("ACME"), LicenseCode: fields.Some(code)}); err != nil {
			t.Fatal(err)
		}
		for _, h := range hosts {
			res, err := lic.Activate(ctx, e.d.Bun, settings.Defaults(), licensing.ActivateRequest{ProductRef: "ACME", LicenseCode: code, Caller: licensing.Caller{Host: h}})
			if err != nil || res.Failure != nil {
				t.Fatalf("activate %s on %s: %v %+v", code, h, err, res)
			}
		}
	}
	file := `{"license_code":"ACME-1","product_reference_id":"ACME","uses":5}
{"license_code":"ACME-2","product_reference_id":"ACME"}
{"license_code":"ACME-3","product_reference_id":"ACME","is_valid":false}
`
	if done := e.run(e.upload(imports.Licenses, "licenses.jsonl", file), imports.Update); done.Inserted != 1 || done.Updated != 2 {
		t.Fatalf("report %+v", done)
	}
	want := map[string]int{"ACME-1": 2, "ACME-2": 0, "ACME-3": 0}
	for code, n := range want {
		l, err := licensing.ByCode(ctx, e.d.Bun, code)
		if err != nil {
			t.Fatal(err)
		}
		var counted int
		if err := e.d.Bun.NewRaw("SELECT count(*) FROM activations WHERE license_id = ? AND is_active", l.ID).Scan(ctx, &counted); err != nil {
			t.Fatal(err)
		}
		if l.ActiveActivations != n || counted != n {
			t.Errorf("%s: counter %d, %d active activations, want %d", code, l.ActiveActivations, counted, n)
		}
	}
}
