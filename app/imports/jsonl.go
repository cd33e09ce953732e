package imports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// JSONLines is one JSON object per line, keyed by field name. Values may be
// strings, numbers, booleans, null (absent) or, for domains, ips and entitlements,
// arrays of strings; blank lines are skipped.
func JSONLines() Format {
	return Format{
		Name: "jsonl", Label: "JSON Lines", Extensions: []string{".jsonl", ".ndjson"}, ContentType: "application/jsonl; charset=utf-8",
		Open:  openJSONL,
		Check: checkText,
		Example: func(k Kind) []byte {
			var b bytes.Buffer
			w := newJSONLWriter(&b, k.Fields())
			for _, r := range examples(k) {
				_ = w.Write(r)
			}
			_ = w.Flush()
			return b.Bytes()
		},
		NewWriter: func(w io.Writer, columns []string) RecordWriter { return newJSONLWriter(w, columns) },
	}
}

type jsonlSource struct {
	lines   [][]byte
	at      int
	columns []string
	seen    map[string]bool
}

func openJSONL(content []byte) (Source, error) {
	content = bytes.TrimPrefix(content, []byte("\xef\xbb\xbf"))
	return &jsonlSource{lines: bytes.Split(content, []byte("\n")), seen: map[string]bool{}}, nil
}

func (s *jsonlSource) Columns() []string { return s.columns }

func (s *jsonlSource) Next() (Record, error) {
	for s.at < len(s.lines) {
		raw := bytes.TrimSpace(s.lines[s.at])
		s.at++
		if len(raw) == 0 {
			continue
		}
		rec := Record{Line: s.at}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			rec.Err = fmt.Errorf("the line is not a JSON object: %v", err)
			return rec, nil
		}
		rec.Fields = make(map[string]string, len(obj))
		for k, v := range obj {
			k = strings.ToLower(strings.TrimSpace(k))
			if !s.seen[k] {
				s.seen[k] = true
				s.columns = append(s.columns, k)
			}
			text, err := jsonText(v)
			if err != nil {
				rec.Err = fmt.Errorf("%s: %v", k, err)
				return rec, nil
			}
			rec.Fields[k] = text
		}
		return rec, nil
	}
	return Record{}, io.EOF
}

// jsonText turns a JSON value into the text a CSV cell would hold.
func jsonText(v json.RawMessage) (string, error) {
	var x any
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	if err := d.Decode(&x); err != nil {
		return "", err
	}
	switch t := x.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case json.Number:
		return t.String(), nil
	case bool:
		return strconv.FormatBool(t), nil
	case []any:
		items := make([]string, 0, len(t))
		for _, it := range t {
			s, ok := it.(string)
			if !ok {
				return "", fmt.Errorf("a list must hold strings")
			}
			items = append(items, s)
		}
		return strings.Join(items, ","), nil
	}
	return "", fmt.Errorf("an object is not a field value")
}

type jsonlWriter struct {
	w       *bufio.Writer
	columns []string
}

func newJSONLWriter(w io.Writer, columns []string) *jsonlWriter {
	return &jsonlWriter{w: bufio.NewWriter(w), columns: columns}
}

// Write writes the row as one object in column order: lists (domains, ips)
// as arrays, numbers and booleans as such, empty values as null.
func (j *jsonlWriter) Write(fields map[string]string) error {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, col := range j.columns {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(col)
		b.Write(k)
		b.WriteByte(':')
		b.Write(jsonValue(col, fields[col]))
	}
	b.WriteString("}\n")
	_, err := j.w.Write(b.Bytes())
	return err
}

func (j *jsonlWriter) Flush() error { return j.w.Flush() }

func jsonValue(col, v string) []byte {
	var x any = v
	switch {
	case col == "domains" || col == "ips" || col == "entitlements":
		x = splitList(v)
	case v == "":
		x = nil
	case numericFields[col]:
		if n, err := strconv.Atoi(v); err == nil {
			x = n
		}
	case boolFields[col]:
		if b, err := strconv.ParseBool(v); err == nil {
			x = b
		}
	}
	out, _ := json.Marshal(x)
	return out
}

var (
	numericFields = map[string]bool{"uses": true, "parallel_uses": true, "expiry_days": true}
	boolFields    = map[string]bool{"is_valid": true, "is_envato": true, "confirmed": true}
)

// splitList splits a list cell on commas, semicolons and white space.
func splitList(v string) []string {
	out := strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	if out == nil {
		out = []string{}
	}
	return out
}
