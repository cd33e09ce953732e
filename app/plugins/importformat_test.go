package plugins_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/plugins"
)

func workbook(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// An .xlsx file goes through the import-xlsx plugin into the same preview
// as CSV: rows validated by the import's rules, bad rows reported by line.
func TestXLSXPluginThroughImportPreview(t *testing.T) {
	t.Parallel()
	d, store, plugs := startPlugins(t, "import-xlsx")
	ctx := context.Background()
	by := audit.Source{Actor: audit.System}
	if err := plugs.SetEnabled(ctx, "import-xlsx", true, by); err != nil {
		t.Fatal(err)
	}
	reg := imports.NewRegistry()
	plugins.RegisterImportFormats(reg, plugs)
	svc := imports.New(imports.Options{DB: d.Bun, Settings: store, Formats: reg,
		Customers: customers.NewService(nil, customers.Hooks{}), Licensing: licensing.NewService(licensing.Options{})})

	content := workbook(t, [][]any{
		{"Name", "E-mail", "Client ID", "Shoe size"},
		{"Ada Lovelace", "ada@example.com", "adalove"},
		{"Bad Email", "not-an-email", "badrow"},
		{"Grace Hopper", "grace@example.com", "gracehop", 38, "stray"},
	})
	im, err := svc.Upload(ctx, by, imports.Customers, "people.xlsx", content)
	if err != nil {
		t.Fatal(err)
	}
	if im.Format != "import-xlsx" || im.TotalRows != 3 || im.GoodRows != 1 || im.BadRows != 2 {
		t.Fatalf("preview: format %s, %d rows, %d good, %d bad; problems %+v", im.Format, im.TotalRows, im.GoodRows, im.BadRows, im.Problems)
	}
	lines := map[int]string{}
	for _, p := range im.Problems {
		lines[p.Line] += p.Field + ": " + p.Message + "; "
	}
	if !strings.Contains(lines[3], "email") || !strings.Contains(strings.ToLower(lines[4]), "column e has a value but no header") {
		t.Fatalf("problems by line: %v", lines)
	}
	if len(im.Sample) != 1 || im.Sample[0].Line != 2 || im.Sample[0].Fields["email"] != "ada@example.com" {
		t.Fatalf("sample: %+v", im.Sample)
	}
	if strings.Join(im.Ignored, ",") != "shoe_size" {
		t.Errorf("ignored columns: %v", im.Ignored)
	}

	_, err = svc.Upload(ctx, by, imports.Customers, "broken.xlsx", []byte("this is no workbook"))
	var fe *imports.FileError
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "not an Excel workbook") {
		t.Fatalf("garbage file: %v", err)
	}
}
