// Package imports imports customers and licenses from files and exports
// them: formats are pluggable (a Format read into Records by a Source,
// registered by name in a Registry; CSV and JSON Lines are built in), an
// upload is stored and validated row by row with the same rules as the
// console and API create (customers.Check, licensing.NewLicense), and a
// River job writes the good rows in batches, each in one transaction,
// recording its progress on the imports row. Nothing here speaks HTTP.
//
// # Adding a format
//
// A format is a Format value: a Name (the registry key, also stored on the
// import), the file Extensions it is chosen by, Open, which turns the
// uploaded bytes into a Source, and optionally Check (content sniffing at
// upload), Example (the downloadable example file) and NewWriter (export).
// A Source yields one Record per data row: its line (or sheet row) number,
// its fields by the column names of the spec (CustomerFields,
// LicenseFields; see Kind.Fields), and a parse error when the row could not
// be read. Everything after that — validation, duplicates, batches,
// progress, the report — is the same pipeline for every format. Register
// the format on the Registry main builds (Registry.Register) and pass that
// registry to both the console and the job worker.
package imports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// Kind is what a file holds.
type Kind string

// The kinds of import and export.
const (
	Customers Kind = "customers"
	Licenses  Kind = "licenses"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == Customers || k == Licenses }

// CustomerFields are the columns (CSV header) or keys (JSON) of a customer row:
// the customer's names of docs/api/resources.md#customer plus password (plain,
// hashed on import) or password_hash (an argon2id hash from an export, taken as
// it is) and confirmed (true when absent).
var CustomerFields = []string{"name", "email", "client_id", "password", "password_hash", "confirmed"}

// LicenseFields are the columns or keys of a license row: the license's names of
// docs/api/resources.md#license. license_code empty is generated; product_reference_id
// names the product.
var LicenseFields = []string{
	"license_code", "product_reference_id", "customer_id", "email", "type", "uses", "parallel_uses",
	"expires_at", "expiry_days", "updates_until", "support_until", "domains", "ips", "invoice", "comments",
	"is_valid", "is_envato", "entitlements", "floating", "heartbeat_interval", "heartbeat_missed", "expiry_start", "expiry_started_at",
}

// Fields are the field names a row of kind k is read by, in export order.
func (k Kind) Fields() []string {
	if k == Licenses {
		return LicenseFields
	}
	return CustomerFields
}

// Record is one row read from a file.
type Record struct {
	// Line is where the row starts in the file (1-based; a CSV header is
	// line 1), or the sheet row for spreadsheet formats: what the preview
	// tells the admin.
	Line int
	// Fields are the row's values by field name. An empty value counts as
	// absent. List fields (domains, ips, entitlements) hold their items separated by
	// commas, spaces or new lines.
	Fields map[string]string
	// Err is why the row could not be read; the row is then a bad row.
	Err error
}

// Source reads the records of one file in order.
type Source interface {
	// Next returns the next record, or io.EOF after the last one. Any
	// other error ends the read: the file as a whole is unusable.
	Next() (Record, error)
	// Columns are the field names the file has (the header of a CSV, the
	// keys seen so far in JSON Lines); the preview lists the ones the kind
	// does not read.
	Columns() []string
}

// RecordWriter writes exported rows.
type RecordWriter interface {
	Write(fields map[string]string) error
	// Flush writes what is buffered; the caller calls it at the end.
	Flush() error
}

// Format is one file format of import (and, with NewWriter, export).
type Format struct {
	// Name is the registry key and what an import records ("csv").
	Name string
	// Label is what the console shows ("CSV").
	Label string
	// Extensions choose the format of an uploaded file (".csv").
	Extensions []string
	// ContentType is the media type of example files and exports.
	ContentType string
	// Open reads content, the whole uploaded file.
	Open func(content []byte) (Source, error)
	// Check refuses content that is not of this format (a binary file
	// renamed .csv) with a message for the admin; nil accepts anything.
	Check func(content []byte) error
	// Example is the downloadable example file of kind k; nil means none.
	Example func(k Kind) []byte
	// NewWriter writes rows with columns in this format; nil means the
	// format is import-only.
	NewWriter func(w io.Writer, columns []string) RecordWriter
}

// Registry holds the formats by name. It is built by main (no global) and
// given to the console and the job worker alike.
type Registry struct {
	formats []Format
}

// NewRegistry returns a registry with the built-in formats, CSV and JSON
// Lines.
func NewRegistry() *Registry {
	r := &Registry{}
	_ = r.Register(CSV())
	_ = r.Register(JSONLines())
	return r
}

// Register adds f. A name or extension already taken is refused.
func (r *Registry) Register(f Format) error {
	if f.Name == "" || f.Open == nil {
		return errors.New("imports: a format needs a name and Open")
	}
	for _, g := range r.formats {
		if g.Name == f.Name {
			return fmt.Errorf("imports: format %q already registered", f.Name)
		}
		for _, ext := range f.Extensions {
			if slices.Contains(g.Extensions, strings.ToLower(ext)) {
				return fmt.Errorf("imports: extension %s already belongs to format %q", ext, g.Name)
			}
		}
	}
	r.formats = append(r.formats, f)
	return nil
}

// Get returns the format called name.
func (r *Registry) Get(name string) (Format, bool) {
	for _, f := range r.formats {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// ForFile returns the format of a file by its name's extension.
func (r *Registry) ForFile(filename string) (Format, bool) {
	ext := strings.ToLower(filepath.Ext(filename))
	for _, f := range r.formats {
		if slices.Contains(f.Extensions, ext) {
			return f, true
		}
	}
	return Format{}, false
}

// All returns the formats in registration order.
func (r *Registry) All() []Format { return slices.Clone(r.formats) }

// Exporters returns the formats that can export.
func (r *Registry) Exporters() []Format {
	var out []Format
	for _, f := range r.formats {
		if f.NewWriter != nil {
			out = append(out, f)
		}
	}
	return out
}

// checkText refuses content that is not UTF-8 text: a NUL byte or an
// invalid sequence means a binary file (a spreadsheet, an archive).
func checkText(content []byte) error {
	if bytes.IndexByte(content, 0) >= 0 || !utf8.Valid(content) {
		return &FileError{"The file is not a text file (UTF-8): upload a CSV or JSON Lines file."}
	}
	return nil
}

// screen makes a record storable whatever its format let through:
// PostgreSQL refuses NUL and invalid UTF-8 in text, and JSON's "\u0000" or
// a plugin's cells reach a value without the file holding a NUL byte. Such
// a row is bad (a problem for the preview), and an error's text is cleaned
// since it may quote the file.
func screen(rec Record) Record {
	if rec.Err != nil {
		if msg := rec.Err.Error(); msg != storableText(msg) {
			rec.Err = errors.New(storableText(msg))
		}
		return rec
	}
	for k, v := range rec.Fields {
		if k != storableText(k) || v != storableText(v) {
			rec.Err = errors.New("the line holds a NUL character or text that is not UTF-8")
			rec.Fields = nil
			return rec
		}
	}
	return rec
}

// storableText is s without NUL characters, invalid UTF-8 replaced.
func storableText(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

// FileError is a problem with an uploaded file as a whole, in words for
// the admin: the upload form shows Message next to the file field.
type FileError struct{ Message string }

func (e *FileError) Error() string { return e.Message }
