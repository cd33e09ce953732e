package plugins_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/plugins"
)

// xlsxBomb is a zip laid out like a workbook whose sheet inflates to
// 64 MiB of zeros from about 64 KB: a thousand times its size.
func xlsxBomb(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	z.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	for _, name := range []string{"[Content_Types].xml", "xl/workbook.xml"} {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(`<?xml version="1.0"?><x/>`))
	}
	w, err := z.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for range 64 {
		if _, err := w.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The import-xlsx plugin, run as a real process, refuses a zip bomb from
// the sizes its directory declares (before inflating it) and a text file
// renamed .xlsx; nothing is recorded.
func TestXLSXPluginRefusesBombs(t *testing.T) {
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
	bomb := xlsxBomb(t)
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb is %d bytes: not a bomb", len(bomb))
	}
	for name, tc := range map[string]struct {
		content []byte
		want    string
	}{
		"bomb.xlsx":  {bomb, "zip bomb"},
		"notes.xlsx": {[]byte("name,email\nAnn,ann@example.com\n"), "not an Excel workbook"},
	} {
		_, err := svc.Upload(ctx, by, imports.Customers, name, tc.content)
		var fe *imports.FileError
		if !errors.As(err, &fe) || !strings.Contains(fe.Message, tc.want) {
			t.Errorf("%s: %v, want a file error with %q", name, err, tc.want)
		}
	}
	var n int
	if err := d.Bun.NewRaw("SELECT count(*) FROM imports").Scan(ctx, &n); err != nil || n != 0 {
		t.Errorf("%d imports recorded (%v), want none", n, err)
	}
}
