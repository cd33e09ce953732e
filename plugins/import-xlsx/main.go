// Command import-xlsx is the import format plugin for Excel workbooks
// (.xlsx): the first sheet (or the one named in its settings), whose first
// row names the columns by the built-in import's field names ("Email",
// "E-mail" and "email" all read as email). Each following non-empty row is
// one record; date cells in *_at and *_until columns become ISO dates.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/xuri/excelize/v2"

	"github.com/licensor/licensor/plugins/sdk"
)

var manifest = sdk.Manifest{
	Name:        "import-xlsx",
	Version:     "1.0.0",
	Description: "Imports customers and licenses from Excel workbooks (.xlsx): first sheet, header row of field names.",
	Extensions:  []string{".xlsx"},
	Config: []sdk.ConfigField{
		{Name: "sheet", Label: "Sheet", Type: sdk.FieldString,
			Help: "Name of the sheet to read; empty reads the first sheet."},
	},
}

func main() {
	sdk.ServeImportFormat(manifest, &format{})
}

type format struct {
	mu    sync.Mutex
	sheet string
}

func (f *format) Configure(_ context.Context, cfg sdk.Config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sheet = cfg.String("sheet", "")
	return nil
}

// aliases are header spellings of built-in field names that normalising
// alone does not reach.
var aliases = map[string]string{
	"e_mail": "email", "mail": "email", "customer_email": "email",
	"product": "product_reference_id", "product_id": "product_reference_id",
	"code": "license_code", "license": "license_code", "license_key": "license_code",
	"expires": "expires_at", "expiry": "expires_at",
}

// fieldName turns a header cell into a field name: lower case, spaces and
// dashes as underscores.
func fieldName(header string) string {
	s := strings.ToLower(strings.TrimSpace(header))
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '.' {
			return '_'
		}
		return r
	}, s)
	if a, ok := aliases[s]; ok {
		return a
	}
	return s
}

// Bounds on a workbook, so a zip bomb (a small file whose entries expand
// to gigabytes) is refused from the sizes its directory declares, before
// anything is inflated; archive/zip fails an entry that inflates past its
// declared size, so the declaration cannot lie.
const (
	maxFileBytes        = 256 << 20 // the host sends at most the import limit anyway
	maxUnzippedBytes    = 256 << 20 // excelize's UnzipSizeLimit (its default is 16 GB)
	maxInMemoryXMLBytes = 16 << 20  // larger sheets go through temporary files
	// maxRatio: real workbooks inflate 5 to 30 times; a bomb thousands.
	maxRatio = 100
)

// checkZip refuses what is not a zip archive, and archives that inflate
// past maxUnzippedBytes or more than maxRatio times their size (once past
// a megabyte, so tiny files with headers are not caught).
func checkZip(content []byte) error {
	z, err := zip.NewReader(bytes.NewReader(content), int64(len(content)))
	if err != nil {
		return err
	}
	var total uint64
	for _, f := range z.File {
		total += f.UncompressedSize64
		if total > maxUnzippedBytes {
			return fmt.Errorf("it inflates to more than %d MB", maxUnzippedBytes>>20)
		}
	}
	if total > 1<<20 && total > uint64(len(content))*maxRatio {
		return fmt.Errorf("it inflates %d times its size: a zip bomb, not a workbook", total/uint64(max(len(content), 1)))
	}
	return nil
}

func isDateField(name string) bool {
	return strings.HasSuffix(name, "_at") || strings.HasSuffix(name, "_until")
}

func (f *format) Parse(_ context.Context, file sdk.ImportFile, out sdk.ImportSink) error {
	f.mu.Lock()
	sheet := f.sheet
	f.mu.Unlock()
	content, err := io.ReadAll(io.LimitReader(file.Body, maxFileBytes+1))
	if err != nil {
		return fmt.Errorf("%s cannot be read: %v", file.Filename, err)
	}
	if len(content) > maxFileBytes {
		return fmt.Errorf("%s is larger than %d MB", file.Filename, maxFileBytes>>20)
	}
	if err := checkZip(content); err != nil {
		return fmt.Errorf("%s is not an Excel workbook (.xlsx): %v", file.Filename, err)
	}
	wb, err := excelize.OpenReader(bytes.NewReader(content), excelize.Options{
		UnzipSizeLimit: maxUnzippedBytes, UnzipXMLSizeLimit: maxInMemoryXMLBytes,
	})
	if err != nil {
		return fmt.Errorf("%s is not an Excel workbook (.xlsx): %v", file.Filename, err)
	}
	defer func() { _ = wb.Close() }()
	if sheet == "" {
		sheets := wb.GetSheetList()
		if len(sheets) == 0 {
			return fmt.Errorf("%s has no sheets", file.Filename)
		}
		sheet = sheets[0]
	}
	rows, err := wb.Rows(sheet)
	if err != nil {
		return fmt.Errorf("sheet %q cannot be read: %v", sheet, err)
	}
	defer func() { _ = rows.Close() }()

	var header []string
	line := 0
	for rows.Next() {
		line++
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			if err := out.Record(sdk.ImportRecord{Line: line, Error: fmt.Sprintf("row %d cannot be read: %v", line, err)}); err != nil {
				return err
			}
			continue
		}
		if header == nil {
			if blank(cells) {
				continue // leading empty rows before the header
			}
			for _, c := range cells {
				header = append(header, fieldName(c))
			}
			if err := out.Columns(header); err != nil {
				return err
			}
			continue
		}
		if blank(cells) {
			continue
		}
		rec := sdk.ImportRecord{Line: line, Fields: map[string]string{}}
		for i, c := range cells {
			c = strings.TrimSpace(c)
			if c == "" {
				continue
			}
			if i >= len(header) || header[i] == "" {
				col, _ := excelize.ColumnNumberToName(i + 1)
				rec.Error = fmt.Sprintf("column %s has a value but no header", col)
				continue
			}
			name := header[i]
			if isDateField(name) {
				c = excelDate(c)
			}
			rec.Fields[name] = c
		}
		if err := out.Record(rec); err != nil {
			return err
		}
	}
	if err := rows.Error(); err != nil {
		return fmt.Errorf("sheet %q: %v", sheet, err)
	}
	if header == nil {
		return fmt.Errorf("sheet %q is empty: its first row must name the columns", sheet)
	}
	return nil
}

// excelDate turns a date cell's serial number into YYYY-MM-DD (or an
// RFC 3339 time when it has a time of day); other text is kept as typed.
func excelDate(v string) string {
	serial, err := strconv.ParseFloat(v, 64)
	if err != nil || serial <= 0 || serial > 2958465 {
		return v
	}
	t, err := excelize.ExcelDateToTime(serial, false)
	if err != nil {
		return v
	}
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("2006-01-02")
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
