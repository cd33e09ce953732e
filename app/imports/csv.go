package imports

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CSV is the comma-separated format: a header row of field names, then one
// row per record (RFC 4180 quoting; a UTF-8 byte-order mark is ignored).
// Its writer is every CSV export's (Neutralise: no cell reads as a
// formula) and its reader takes such a file back unchanged.
func CSV() Format {
	return Format{
		Name: "csv", Label: "CSV", Extensions: []string{".csv"}, ContentType: "text/csv; charset=utf-8",
		Open:  openCSV,
		Check: checkText,
		Example: func(k Kind) []byte {
			var b bytes.Buffer
			w := newCSVWriter(&b, k.Fields())
			for _, r := range examples(k) {
				_ = w.Write(r)
			}
			_ = w.Flush()
			return b.Bytes()
		},
		NewWriter: func(w io.Writer, columns []string) RecordWriter { return newCSVWriter(w, columns) },
	}
}

type csvSource struct {
	r      *csv.Reader
	header []string
}

func openCSV(content []byte) (Source, error) {
	content = bytes.TrimPrefix(content, []byte("\xef\xbb\xbf"))
	r := csv.NewReader(bytes.NewReader(content))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &FileError{"The file is empty: the first line must name the columns."}
	}
	if err != nil {
		return nil, &FileError{fmt.Sprintf("The header line cannot be read: %v.", err)}
	}
	for i, h := range header {
		header[i] = strings.ToLower(strings.TrimSpace(h))
	}
	return &csvSource{r: r, header: header}, nil
}

func (s *csvSource) Columns() []string { return s.header }

func (s *csvSource) Next() (Record, error) {
	for {
		row, err := s.r.Read()
		if errors.Is(err, io.EOF) {
			return Record{}, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return Record{Line: pe.StartLine, Err: fmt.Errorf("the line cannot be read as CSV: %v", pe.Err)}, nil
		}
		if err != nil {
			return Record{}, err
		}
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue // a blank line
		}
		// FieldPos only after a record was read: after a parse error (an
		// unterminated quote) there is no field 0 and it panics.
		line, _ := s.r.FieldPos(0)
		rec := Record{Line: line, Fields: make(map[string]string, len(s.header))}
		if len(row) != len(s.header) {
			rec.Err = fmt.Errorf("the line has %d columns, the header %d", len(row), len(s.header))
			return rec, nil
		}
		for i, v := range row {
			if s.header[i] != "" {
				rec.Fields[s.header[i]] = Unneutralise(v)
			}
		}
		return rec, nil
	}
}

type csvWriter struct {
	w       *csv.Writer
	columns []string
	row     []string
}

func newCSVWriter(w io.Writer, columns []string) *csvWriter {
	cw := &csvWriter{w: csv.NewWriter(w), columns: columns, row: make([]string, len(columns))}
	_ = cw.w.Write(columns)
	return cw
}

func (c *csvWriter) Write(fields map[string]string) error {
	for i, col := range c.columns {
		c.row[i] = Neutralise(fields[col])
	}
	return c.w.Write(c.row)
}

// formulaStarts are the first characters that make a spreadsheet read a
// cell as a formula (or, tab and CR, hide one behind them).
const formulaStarts = "=+-@\t\r"

// Neutralise keeps a spreadsheet from reading a value written to CSV as a
// formula (issue 15.10, docs/deploy.md#csv-formula-injection): a value
// starting with = + - @, a tab or a CR gets a leading apostrophe, which
// spreadsheets show as text. So that Unneutralise gives every value back
// unchanged, a value starting with an apostrophe followed by one of those
// or by another apostrophe gets one too.
func Neutralise(v string) string {
	if needsMark(v) || (len(v) > 1 && v[0] == '\'' && (v[1] == '\'' || needsMark(v[1:]))) {
		return "'" + v
	}
	return v
}

// Unneutralise is the inverse of Neutralise, applied to every field the
// CSV import reads: an exported file imports back unchanged.
func Unneutralise(v string) string {
	if len(v) > 1 && v[0] == '\'' && (v[1] == '\'' || needsMark(v[1:])) {
		return v[1:]
	}
	return v
}

func needsMark(v string) bool { return v != "" && strings.IndexByte(formulaStarts, v[0]) >= 0 }

func (c *csvWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}
