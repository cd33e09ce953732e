package sdk

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// ManifestFile is the manifest's file name inside a plugin's directory.
const ManifestFile = "manifest.json"

// Manifest describes an installed plugin. It sits beside the executable as
// manifest.json:
//
//	<plugins dir>/<name>/manifest.json
//	<plugins dir>/<name>/<executable>
type Manifest struct {
	// Name identifies the plugin: lower case letters, digits and dashes,
	// and the same as its directory's name.
	Name string `json:"name"`
	// Kind is the service the plugin implements.
	Kind Kind `json:"kind"`
	// Version is the plugin's own version, shown in the console.
	Version string `json:"version"`
	// Description is one sentence for the console.
	Description string `json:"description"`
	// Executable is the file name of the program in the plugin's
	// directory (no slashes).
	Executable string `json:"executable"`
	// SHA256 is the hex SHA-256 of the executable: Licensor refuses to
	// start a file whose checksum differs.
	SHA256 string `json:"sha256"`
	// Config lists the settings the console offers for the plugin.
	Config []ConfigField `json:"config,omitempty"`
	// Extensions are the file name extensions an importformat plugin
	// reads (".xlsx"): an uploaded file is given to the plugin by them.
	Extensions []string `json:"extensions,omitempty"`
	// VerifyType is the verify_type of the external API an ordersync
	// plugin implementing LicenseVerifier serves ("gumroad"): activations
	// naming it ask the plugin about codes Licensor does not know.
	VerifyType string `json:"verify_type,omitempty"`
	// Marketplace names the marketplace in messages ("This product is not
	// configured for Gumroad verification."); VerifyType when empty.
	Marketplace string `json:"marketplace,omitempty"`
}

// MarketplaceName is Marketplace, or VerifyType when it is empty.
func (m *Manifest) MarketplaceName() string {
	if m.Marketplace != "" {
		return m.Marketplace
	}
	return m.VerifyType
}

// Config field types.
const (
	FieldString = "string" // one line of text
	FieldText   = "text"   // several lines
	FieldNumber = "number" // a decimal number
	FieldBool   = "bool"   // a checkbox: "true" or "false"
	FieldURL    = "url"    // an http(s) URL
)

// ConfigField is one setting of a plugin.
type ConfigField struct {
	// Name is the key in Config (letters, digits, underscores).
	Name string `json:"name"`
	// Label is what the console shows; Name when empty.
	Label string `json:"label,omitempty"`
	// Type is one of string, text, number, bool, url.
	Type string `json:"type"`
	// Help is a sentence under the field.
	Help string `json:"help,omitempty"`
	// Default is used while the admin has not saved a value.
	Default string `json:"default,omitempty"`
	// Required fields must not be empty.
	Required bool `json:"required,omitempty"`
	// Secret values are stored encrypted and never shown again: the form
	// leaves them empty, and an empty value keeps the stored one.
	Secret bool `json:"secret,omitempty"`
}

// The manifest's patterns compile at first use: their counted repetitions
// make programs of a few dozen kilobytes, which every process importing
// the SDK (the server, each plugin) would otherwise build at start-up.
var (
	namePattern  = lazyRegexp(`^[a-z0-9][a-z0-9-]{0,62}$`)
	fieldPattern = lazyRegexp(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)
	hexSHA256    = lazyRegexp(`^[0-9a-f]{64}$`)
	extPattern   = lazyRegexp(`^\.[a-z0-9]{1,15}$`)
	verifyType   = lazyRegexp(`^[a-z][a-z0-9_]{0,39}$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// Validate checks the manifest's fields, but not the checksum.
func (m *Manifest) Validate() error {
	var problems []string
	if !namePattern().MatchString(m.Name) {
		problems = append(problems, fmt.Sprintf("name %q must be lower case letters, digits and dashes", m.Name))
	}
	if !m.Kind.Valid() {
		problems = append(problems, fmt.Sprintf("kind %q is not one of captcha, ordersync, importformat", m.Kind))
	}
	if strings.TrimSpace(m.Version) == "" {
		problems = append(problems, "version is missing")
	}
	if m.Executable == "" || m.Executable != filepath.Base(m.Executable) || strings.HasPrefix(m.Executable, ".") {
		problems = append(problems, fmt.Sprintf("executable %q must be a file name in the plugin's directory", m.Executable))
	}
	if !hexSHA256().MatchString(m.SHA256) {
		problems = append(problems, "sha256 must be 64 lower-case hex digits")
	}
	for _, ext := range m.Extensions {
		if !extPattern().MatchString(ext) {
			problems = append(problems, fmt.Sprintf("extension %q must be a dot and lower-case letters or digits", ext))
		}
	}
	if m.VerifyType != "" && (m.Kind != KindOrderSync || !verifyType().MatchString(m.VerifyType)) {
		problems = append(problems, fmt.Sprintf("verify_type %q must be lower-case letters, digits and underscores, on an ordersync plugin", m.VerifyType))
	}
	if len(m.Marketplace) > 60 || strings.ContainsAny(m.Marketplace, "<>&\"\n") {
		problems = append(problems, "marketplace must be a short plain name")
	}
	seen := map[string]bool{}
	for _, f := range m.Config {
		if !fieldPattern().MatchString(f.Name) {
			problems = append(problems, fmt.Sprintf("config field %q: name must be letters, digits and underscores", f.Name))
		}
		if seen[f.Name] {
			problems = append(problems, fmt.Sprintf("config field %q appears twice", f.Name))
		}
		seen[f.Name] = true
		switch f.Type {
		case FieldString, FieldText, FieldNumber, FieldBool, FieldURL:
		default:
			problems = append(problems, fmt.Sprintf("config field %q: type %q is not string, text, number, bool or url", f.Name, f.Type))
		}
	}
	if len(problems) > 0 {
		return errors.New("manifest: " + strings.Join(problems, "; "))
	}
	return nil
}

// ReadManifest reads and validates dir/manifest.json.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	f, err := os.Open(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, err
	}
	defer f.Close()
	dec := json.NewDecoder(io.LimitReader(f, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	return m, m.Validate()
}

// FileSHA256 returns the hex SHA-256 of the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// printManifest writes m to stdout as manifest.json, with the kind, the
// executable's file name and its SHA-256 filled in from the running file.
func printManifest(m Manifest, kind Kind) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return err
	}
	m.Kind = kind
	m.Executable = filepath.Base(exe)
	if m.SHA256, err = FileSHA256(exe); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}
