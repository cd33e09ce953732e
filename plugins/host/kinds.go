package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/licensor/licensor/plugins/sdk"
)

// Captcha is a CAPTCHA plugin as the portal uses it.
type Captcha struct {
	h    *Host
	name string
}

// Captcha returns the CAPTCHA plugin called name. Whether it exists and
// runs is found out at each call.
func (h *Host) Captcha(name string) *Captcha { return &Captcha{h: h, name: name} }

// formFieldName compiles at first use, as cspOrigin: its counted
// repetition makes a program every start of the server would build.
var formFieldName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)
})

// Widget asks the plugin for a form's widget. Script URLs must be absolute
// http(s) URLs and the response field a plain field name.
func (c *Captcha) Widget(ctx context.Context, req sdk.WidgetRequest) (sdk.Widget, error) {
	m, err := c.h.lookup(c.name, sdk.KindCaptcha)
	if err != nil {
		return sdk.Widget{}, err
	}
	var w sdk.Widget
	err = c.h.call(ctx, m, c.h.cfg.CallTimeout, func(ctx context.Context, raw any) error {
		var err error
		w, err = raw.(sdk.Captcha).Widget(ctx, req)
		return err
	})
	if err != nil {
		return sdk.Widget{}, err
	}
	if bad := checkWidget(w); bad != "" {
		return sdk.Widget{}, c.h.bad(m, "%s", bad)
	}
	return w, nil
}

// checkWidget says what is wrong with a plugin's widget, or "": the
// response field must be a plain field name, script URLs absolute http(s)
// URLs and origins fit for a Content-Security-Policy header.
func checkWidget(w sdk.Widget) string {
	if !formFieldName().MatchString(w.ResponseField) {
		return fmt.Sprintf("response field %q is not a form field name", w.ResponseField)
	}
	for _, s := range w.ScriptURLs {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Sprintf("script URL %q is not an http(s) URL", s)
		}
	}
	for _, o := range w.Origins {
		if !cspOrigin().MatchString(o) {
			return fmt.Sprintf("origin %q is not scheme://host", o)
		}
	}
	return ""
}

// cspOrigin is an origin a Content-Security-Policy may list: https or
// http, a host name (a leading *. allowed) and an optional port.
var cspOrigin = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?$`)
})

// Verify asks the plugin to check a response token.
func (c *Captcha) Verify(ctx context.Context, req sdk.VerifyRequest) (sdk.Verdict, error) {
	m, err := c.h.lookup(c.name, sdk.KindCaptcha)
	if err != nil {
		return sdk.Verdict{}, err
	}
	var v sdk.Verdict
	err = c.h.call(ctx, m, c.h.cfg.CallTimeout, func(ctx context.Context, raw any) error {
		var err error
		v, err = raw.(sdk.Captcha).Verify(ctx, req)
		return err
	})
	return v, err
}

// bad records and returns an ErrBadOutput.
func (h *Host) bad(m *managed, format string, args ...any) error {
	err := fmt.Errorf("plugin %s: %w: %s", m.name, ErrBadOutput, fmt.Sprintf(format, args...))
	m.mu.Lock()
	m.noteLocked(err.Error())
	m.mu.Unlock()
	return err
}

// ImportFormat is an import format plugin as the import pipeline uses it.
type ImportFormat struct {
	h    *Host
	name string
}

// ImportFormat returns the import format plugin called name.
func (h *Host) ImportFormat(name string) *ImportFormat { return &ImportFormat{h: h, name: name} }

// Parsed is what an import format plugin read from a file.
type Parsed struct {
	Columns []string
	Records []sdk.ImportRecord
}

// Parse sends content to the plugin and collects its columns and records,
// at most MaxRecords, under ParseTimeout. Records must come in order with
// positive line numbers and UTF-8 text; anything else is ErrBadOutput.
func (f *ImportFormat) Parse(ctx context.Context, filename, target string, content []byte) (Parsed, error) {
	m, err := f.h.lookup(f.name, sdk.KindImportFormat)
	if err != nil {
		return Parsed{}, err
	}
	sink := &collectSink{max: f.h.cfg.MaxRecords}
	err = f.h.call(ctx, m, f.h.cfg.ParseTimeout, func(ctx context.Context, raw any) error {
		*sink = collectSink{max: f.h.cfg.MaxRecords}
		file := sdk.ImportFile{Filename: filename, Target: target, Size: int64(len(content)), Body: bytes.NewReader(content)}
		return raw.(sdk.ImportFormat).Parse(ctx, file, sink)
	})
	if sink.bad != "" {
		return Parsed{}, f.h.bad(m, "%s", sink.bad)
	}
	if err != nil {
		return Parsed{}, err
	}
	return sink.out, nil
}

// collectSink gathers a parse's output and refuses what no valid plugin
// sends.
type collectSink struct {
	max  int
	out  Parsed
	bad  string
	last int
}

func (s *collectSink) fail(format string, args ...any) error {
	s.bad = fmt.Sprintf(format, args...)
	return fmt.Errorf("%w: %s", ErrBadOutput, s.bad)
}

func (s *collectSink) Columns(names []string) error {
	for _, n := range names {
		if !utf8.ValidString(n) {
			return s.fail("a column name is not UTF-8")
		}
	}
	s.out.Columns = append([]string(nil), names...)
	return nil
}

func (s *collectSink) Record(r sdk.ImportRecord) error {
	if len(s.out.Records) >= s.max {
		return s.fail("more than %d records", s.max)
	}
	if r.Line <= 0 || r.Line < s.last {
		return s.fail("record line %d out of order", r.Line)
	}
	s.last = r.Line
	for k, v := range r.Fields {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return s.fail("line %d: a value is not UTF-8", r.Line)
		}
	}
	if !utf8.ValidString(r.Error) {
		r.Error = strings.ToValidUTF8(r.Error, "?")
	}
	s.out.Records = append(s.out.Records, r)
	return nil
}

// OrderSync is an order sync plugin as the order processing uses it.
type OrderSync struct {
	h    *Host
	name string
}

// OrderSync returns the order sync plugin called name.
func (h *Host) OrderSync(name string) *OrderSync { return &OrderSync{h: h, name: name} }

// Webhook hands a received webhook request to the plugin. The events are
// the plugin's word: validate them like any input.
func (o *OrderSync) Webhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
	m, err := o.h.lookup(o.name, sdk.KindOrderSync)
	if err != nil {
		return sdk.WebhookResult{}, err
	}
	var res sdk.WebhookResult
	err = o.h.call(ctx, m, o.h.cfg.CallTimeout, func(ctx context.Context, raw any) error {
		var err error
		res, err = raw.(sdk.OrderSync).Webhook(ctx, req)
		return err
	})
	return res, err
}

// Poll asks the plugin for orders changed since req.Cursor.
func (o *OrderSync) Poll(ctx context.Context, req sdk.PollRequest) (sdk.PollResult, error) {
	m, err := o.h.lookup(o.name, sdk.KindOrderSync)
	if err != nil {
		return sdk.PollResult{}, err
	}
	var res sdk.PollResult
	err = o.h.call(ctx, m, o.h.cfg.CallTimeout, func(ctx context.Context, raw any) error {
		var err error
		res, err = raw.(sdk.OrderSync).Poll(ctx, req)
		return err
	})
	return res, err
}

// ErrVerifyUnsupported is an order sync plugin that serves no verify_type.
var ErrVerifyUnsupported = sdk.ErrVerifyUnsupported

// Bounds on a sale a plugin reports.
const (
	maxSaleText   = 1000
	maxSaleFields = 50
)

// VerifyLicense asks the plugin about a marketplace license code. The
// answer is checked: a known outcome, bounded UTF-8 text; the sale's
// customer is the plugin's word and gets the caller's validation.
func (o *OrderSync) VerifyLicense(ctx context.Context, req sdk.VerifyLicenseRequest) (sdk.VerifyLicenseResult, error) {
	m, err := o.h.lookup(o.name, sdk.KindOrderSync)
	if err != nil {
		return sdk.VerifyLicenseResult{}, err
	}
	var res sdk.VerifyLicenseResult
	unsupported := false
	err = o.h.call(ctx, m, o.h.cfg.CallTimeout, func(ctx context.Context, raw any) error {
		var err error
		// The client implements LicenseVerifier for every plugin; one
		// that does not answers ErrVerifyUnsupported.
		res, err = raw.(sdk.LicenseVerifier).VerifyLicense(ctx, req)
		if errors.Is(err, sdk.ErrVerifyUnsupported) {
			unsupported = true
			return nil
		}
		return err
	})
	switch {
	case err != nil:
		return sdk.VerifyLicenseResult{}, err
	case unsupported:
		return sdk.VerifyLicenseResult{}, fmt.Errorf("plugin %s: %w", o.name, ErrVerifyUnsupported)
	}
	switch res.Outcome {
	case sdk.VerifyAccepted, sdk.VerifyRefused, sdk.VerifyNotMapped:
	default:
		return sdk.VerifyLicenseResult{}, o.h.bad(m, "unknown verify outcome")
	}
	s := res.Sale
	texts := []string{s.ID, s.Customer.Name, s.Customer.Email, s.LicenseType, res.Reason}
	for k, v := range s.Data {
		texts = append(texts, k, v)
	}
	for _, t := range texts {
		if len(t) > maxSaleText || !utf8.ValidString(t) {
			return sdk.VerifyLicenseResult{}, o.h.bad(m, "a sale's text is too long or not UTF-8")
		}
	}
	if len(s.Data) > maxSaleFields {
		return sdk.VerifyLicenseResult{}, o.h.bad(m, "a sale has more than %d data fields", maxSaleFields)
	}
	return res, nil
}
