package main

import (
	"archive/zip"
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/licensor/licensor/plugins/sdk"
	"github.com/licensor/licensor/plugins/sdk/sdktest"
)

// workbook writes an .xlsx file whose sheets hold rows of cells, as a
// spreadsheet program would: text as text, numbers as numbers, times as
// dates (formatted cells holding a serial number).
func workbook(t *testing.T, sheets map[string][][]any, order ...string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14}) // m/d/yyyy
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range order {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(name); err != nil {
			t.Fatal(err)
		}
		for r, row := range sheets[name] {
			for c, v := range row {
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if err := f.SetCellValue(name, cell, v); err != nil {
					t.Fatal(err)
				}
				if _, ok := v.(time.Time); ok {
					if err := f.SetCellStyle(name, cell, cell, dateStyle); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestManifest(t *testing.T) {
	t.Parallel()
	sdktest.Manifest(t, manifest, sdk.KindImportFormat)
}

func TestCustomersSheet(t *testing.T) {
	t.Parallel()
	body := workbook(t, map[string][][]any{"Customers": {
		{}, // a blank row before the header
		{"Name", "E-mail", "Client ID", "Confirmed"},
		{"Ann Lee", "ann@example.com", "CUST-001", true},
		{"  ", "", nil, ""}, // blank: skipped, its line number too
		{"Bob Stone", " bob@example.com ", 1234567, false},
		{"Cy", "cy@example.com", "", "", "stray"}, // a value past the header
	}}, "Customers")
	c := sdktest.ImportFormat(t, &format{})
	got, err := sdktest.Parse(t, c, "customers.xlsx", "customers", body)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"name", "email", "client_id", "confirmed"}; !reflect.DeepEqual(got.Header, want) {
		t.Errorf("columns %v, want %v (headers read as field names, E-mail as email)", got.Header, want)
	}
	if len(got.Records) != 3 {
		t.Fatalf("%d records, want 3: %+v", len(got.Records), got.Records)
	}
	ann, bob, cy := got.Records[0], got.Records[1], got.Records[2]
	if ann.Line != 3 || !reflect.DeepEqual(ann.Fields, map[string]string{"name": "Ann Lee", "email": "ann@example.com", "client_id": "CUST-001", "confirmed": "1"}) {
		t.Errorf("line 3: %+v", ann)
	}
	if bob.Line != 5 || sdktest.Field(t, bob, "email") != "bob@example.com" || sdktest.Field(t, bob, "client_id") != "1234567" || sdktest.Field(t, bob, "confirmed") != "0" {
		t.Errorf("line 5 (trimmed, a number as its digits, false as 0): %+v", bob)
	}
	if cy.Line != 6 || cy.Error != "column E has a value but no header" || cy.Fields["name"] != "Cy" {
		t.Errorf("line 6: %+v, want the stray value reported by its column", cy)
	}
}

func TestLicensesSheetDates(t *testing.T) {
	t.Parallel()
	expires := time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC)
	updates := time.Date(2031, 5, 1, 13, 30, 0, 0, time.UTC)
	body := workbook(t, map[string][][]any{"Licenses": {
		{"License Key", "Product", "Expires", "Updates Until", "Parallel Uses", "Domains"},
		{"ACME-0001", "ACME", expires, updates, 2, "a.example.com, b.example.com"},
		{"ACME-0002", "ACME", "2031-06-01", "not a date", "", ""},
	}}, "Licenses")
	c := sdktest.ImportFormat(t, &format{})
	got, err := sdktest.Parse(t, c, "licenses.xlsx", "licenses", body)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"license_code", "product_reference_id", "expires_at", "updates_until", "parallel_uses", "domains"}; !reflect.DeepEqual(got.Header, want) {
		t.Errorf("columns %v, want %v", got.Header, want)
	}
	first, second := got.Records[0], got.Records[1]
	want := map[string]string{
		"license_code": "ACME-0001", "product_reference_id": "ACME", "expires_at": "2031-05-01",
		"updates_until": "2031-05-01T13:30:00Z", "parallel_uses": "2", "domains": "a.example.com, b.example.com",
	}
	if !reflect.DeepEqual(first.Fields, want) {
		t.Errorf("date cells: %v, want %v", first.Fields, want)
	}
	if sdktest.Field(t, second, "expires_at") != "2031-06-01" || sdktest.Field(t, second, "updates_until") != "not a date" {
		t.Errorf("dates typed as text are kept as typed: %v", second.Fields)
	}
	if _, ok := second.Fields["parallel_uses"]; ok {
		t.Errorf("an empty cell became a field: %v", second.Fields)
	}
}

func TestSheetSetting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	body := workbook(t, map[string][][]any{
		"Notes":     {{"Read me first"}},
		"Customers": {{"name", "email"}, {"Ann", "ann@example.com"}},
	}, "Notes", "Customers")
	impl := &format{}
	c := sdktest.ImportFormat(t, impl)

	got, err := sdktest.Parse(t, c, "book.xlsx", "customers", body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Header, []string{"read_me_first"}) || len(got.Records) != 0 {
		t.Errorf("without a setting the first sheet is read: %v %v", got.Header, got.Records)
	}
	if err := c.Configure(ctx, sdk.Config{"sheet": "Customers"}); err != nil {
		t.Fatal(err)
	}
	got, err = sdktest.Parse(t, c, "book.xlsx", "customers", body)
	if err != nil || len(got.Records) != 1 || got.Records[0].Fields["email"] != "ann@example.com" || got.Records[0].Line != 2 {
		t.Errorf("the named sheet: %+v %v", got, err)
	}
	if err := c.Configure(ctx, sdk.Config{"sheet": "Orders"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdktest.Parse(t, c, "book.xlsx", "customers", body); err == nil || !strings.Contains(err.Error(), `sheet "Orders"`) {
		t.Errorf("a missing sheet: %v, want an error naming it", err)
	}
}

func TestRefusedFiles(t *testing.T) {
	t.Parallel()
	c := sdktest.ImportFormat(t, &format{})

	// A zip whose single entry inflates from about 2 KB to 2 MB: a thousand
	// times, where workbooks inflate 5 to 30 times.
	var bomb bytes.Buffer
	zw := zip.NewWriter(&bomb)
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 2<<20)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"CSV renamed .xlsx", []byte("name,email\nAnn,ann@example.com\n"), "is not an Excel workbook"},
		{"zip bomb", bomb.Bytes(), "a zip bomb"},
		{"empty sheet", workbook(t, map[string][][]any{"Empty": {}}, "Empty"), `sheet "Empty" is empty`},
	} {
		if got, err := sdktest.Parse(t, c, "upload.xlsx", "customers", tc.body); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v (%d records), want an error containing %q", tc.name, err, len(got.Records), tc.want)
		}
	}
}
