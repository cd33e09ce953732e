// Package sdktest runs a Licensor plugin inside its own tests: the plugin's
// implementation is served over go-plugin's in-process gRPC connection
// (plugin.TestPluginGRPCConn) and the test talks to it through the same
// client Licensor's host uses, so every request and answer crosses the real
// protobuf and gRPC layer without building an executable.
//
//	func TestVerify(t *testing.T) {
//		c := sdktest.Captcha(t, &provider{})
//		if err := c.Configure(ctx, sdk.Config{"answer": "42"}); err != nil { … }
//		v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "42"})
//		…
//	}
//
// The connection is closed when the test ends. A plugin's settings reach it
// only through Configure, as they do in Licensor.
package sdktest

import (
	"context"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/licensor/licensor/plugins/sdk"
)

// Captcha serves c and returns the host's client of it.
func Captcha(t testing.TB, c sdk.Captcha) *sdk.CaptchaClient {
	t.Helper()
	return dispense[*sdk.CaptchaClient](t, sdk.KindCaptcha, c)
}

// OrderSync serves o and returns the host's client of it. When o also
// implements sdk.LicenseVerifier, the client's VerifyLicense reaches it;
// otherwise VerifyLicense answers sdk.ErrVerifyUnsupported, as Licensor
// sees a plugin that serves no verify_type.
func OrderSync(t testing.TB, o sdk.OrderSync) *sdk.OrderSyncClient {
	t.Helper()
	return dispense[*sdk.OrderSyncClient](t, sdk.KindOrderSync, o)
}

// ImportFormat serves f and returns the host's client of it.
func ImportFormat(t testing.TB, f sdk.ImportFormat) *sdk.ImportFormatClient {
	t.Helper()
	return dispense[*sdk.ImportFormatClient](t, sdk.KindImportFormat, f)
}

func dispense[C any](t testing.TB, kind sdk.Kind, impl any) C {
	t.Helper()
	var none C
	set, err := sdk.ServerPlugins(kind, impl)
	if err != nil {
		t.Fatal(err)
		return none
	}
	client, server := plugin.TestPluginGRPCConn(t, false, set)
	t.Cleanup(func() {
		// Close asks the server to shut down (go-plugin's controller
		// service), as the host does with a plugin process; stopping the
		// server here as well would race with that.
		_ = client.Close()
		select {
		case <-server.DoneCh:
		case <-time.After(5 * time.Second):
			server.Stop()
		}
	})
	raw, err := client.Dispense(string(kind))
	if err != nil {
		t.Fatalf("dispense %s plugin: %v", kind, err)
		return none
	}
	c, ok := raw.(C)
	if !ok {
		t.Fatalf("dispense %s plugin: got %T", kind, raw)
	}
	return c
}

// Parsed is what an import format plugin's Parse sent: the columns and the
// records, in the order they arrived. It is an sdk.ImportSink.
type Parsed struct {
	mu      sync.Mutex
	Header  []string
	Records []sdk.ImportRecord
	// calls counts Columns calls: the SDK's contract is once, first.
	calls int
}

// Columns implements sdk.ImportSink.
func (p *Parsed) Columns(names []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.Header = append([]string(nil), names...)
	return nil
}

// Record implements sdk.ImportSink.
func (p *Parsed) Record(r sdk.ImportRecord) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Records = append(p.Records, r)
	return nil
}

// Parse sends body to the plugin as an uploaded file named filename, for
// an import of target ("customers" or "licenses"), and returns what the
// plugin read. err is the plugin's refusal of the file as a whole. The test
// fails when the plugin reports its columns more than once or after a
// record, or numbers its rows out of file order.
func Parse(t testing.TB, c *sdk.ImportFormatClient, filename, target string, body []byte) (*Parsed, error) {
	t.Helper()
	out := &parsedChecker{t: t, Parsed: &Parsed{}}
	err := c.Parse(context.Background(), sdk.ImportFile{
		Filename: filename, Target: target, Size: int64(len(body)), Body: strings.NewReader(string(body)),
	}, out)
	return out.Parsed, err
}

// ParseReader is Parse for a body of unknown size (sdk.ImportFile.Size -1).
func ParseReader(t testing.TB, c *sdk.ImportFormatClient, filename, target string, body io.Reader) (*Parsed, error) {
	t.Helper()
	out := &parsedChecker{t: t, Parsed: &Parsed{}}
	err := c.Parse(context.Background(), sdk.ImportFile{Filename: filename, Target: target, Size: -1, Body: body}, out)
	return out.Parsed, err
}

// parsedChecker holds a plugin to the sink's contract while collecting.
type parsedChecker struct {
	t testing.TB
	*Parsed
}

func (p *parsedChecker) Columns(names []string) error {
	p.mu.Lock()
	late := len(p.Records) > 0
	p.mu.Unlock()
	if late {
		p.t.Errorf("import plugin reported its columns after a record")
	}
	if err := p.Parsed.Columns(names); err != nil {
		return err
	}
	if p.calls > 1 {
		p.t.Errorf("import plugin reported its columns %d times; the contract is once, first", p.calls)
	}
	return nil
}

func (p *parsedChecker) Record(r sdk.ImportRecord) error {
	p.mu.Lock()
	prev := 0
	if n := len(p.Records); n > 0 {
		prev = p.Records[n-1].Line
	}
	p.mu.Unlock()
	if r.Line <= prev {
		p.t.Errorf("import plugin sent line %d after line %d: lines are 1-based and in file order", r.Line, prev)
	}
	return p.Parsed.Record(r)
}

// Manifest checks m as Licensor checks an installed plugin's manifest.json,
// for a plugin of kind: the fields the executable fills in when it prints
// its manifest (kind, executable, SHA-256) are filled in first.
func Manifest(t testing.TB, m sdk.Manifest, kind sdk.Kind) {
	t.Helper()
	m.Kind = kind
	if m.Executable == "" {
		m.Executable = m.Name
	}
	if m.SHA256 == "" {
		m.SHA256 = strings.Repeat("0", 64)
	}
	if err := m.Validate(); err != nil {
		t.Error(err)
	}
}

// Field returns the value of name in a record, and fails the test when the
// record has no such field.
func Field(t testing.TB, r sdk.ImportRecord, name string) string {
	t.Helper()
	v, ok := r.Fields[name]
	if !ok {
		t.Errorf("line %d has no field %q (fields: %v)", r.Line, name, keys(r.Fields))
	}
	return v
}

func keys(m map[string]string) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}
