package sdktest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/plugins/sdk"
	"github.com/licensor/licensor/plugins/sdk/sdktest"
)

// captcha is a provider whose answers the test sets.
type captcha struct {
	mu     sync.Mutex
	answer string
	seen   []sdk.VerifyRequest
}

func (c *captcha) Configure(_ context.Context, cfg sdk.Config) error {
	if cfg.String("answer", "") == "" {
		return sdk.FieldErrors{"answer": "Enter the answer."}
	}
	if cfg.String("answer", "") == "boom" {
		return errors.New("provider unreachable")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answer = cfg.String("answer", "")
	return nil
}

func (c *captcha) Widget(_ context.Context, req sdk.WidgetRequest) (sdk.Widget, error) {
	return sdk.Widget{
		HTML: `<input name="a" data-form="` + req.Form + `" lang="` + req.Locale + `">`, ResponseField: "a",
		ScriptURLs: []string{"https://captcha.example/api.js"}, Origins: []string{"https://captcha.example"},
	}, nil
}

func (c *captcha) Verify(_ context.Context, req sdk.VerifyRequest) (sdk.Verdict, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, req)
	switch req.Token {
	case "down":
		return sdk.Verdict{}, errors.New("provider down")
	case c.answer:
		return sdk.Verdict{OK: true, Score: 0.9}, nil
	}
	return sdk.Verdict{Reason: "wrong answer", Score: 0.1}, nil
}

func TestCaptchaCrossesGRPC(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	impl := &captcha{}
	c := sdktest.Captcha(t, impl)

	var fe sdk.FieldErrors
	if err := c.Configure(ctx, sdk.Config{}); !errors.As(err, &fe) || fe["answer"] != "Enter the answer." {
		t.Fatalf("refused settings: %v (%T), want FieldErrors on answer", err, err)
	}
	if err := c.Configure(ctx, sdk.Config{"answer": "boom"}); err == nil || errors.As(err, &fe) || !strings.Contains(err.Error(), "provider unreachable") {
		t.Fatalf("failing Configure: %v, want the plugin's error, not field errors", err)
	}
	if err := c.Configure(ctx, sdk.Config{"answer": "42"}); err != nil {
		t.Fatal(err)
	}

	w, err := c.Widget(ctx, sdk.WidgetRequest{Form: "login", Locale: "de"})
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.Widget{HTML: `<input name="a" data-form="login" lang="de">`, ResponseField: "a",
		ScriptURLs: []string{"https://captcha.example/api.js"}, Origins: []string{"https://captcha.example"}}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("widget %+v, want %+v", w, want)
	}

	if v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "42", RemoteIP: "203.0.113.9", Form: "register"}); err != nil || !v.OK || v.Score != 0.9 {
		t.Errorf("right answer: %+v %v", v, err)
	}
	if v, err := c.Verify(ctx, sdk.VerifyRequest{Token: "41"}); err != nil || v.OK || v.Reason != "wrong answer" {
		t.Errorf("wrong answer: %+v %v, want a refusal, not an error", v, err)
	}
	if _, err := c.Verify(ctx, sdk.VerifyRequest{Token: "down"}); err == nil || !strings.Contains(err.Error(), "provider down") {
		t.Errorf("provider down: %v, want the plugin's error", err)
	}
	if got := impl.seen[0]; got != (sdk.VerifyRequest{Token: "42", RemoteIP: "203.0.113.9", Form: "register"}) {
		t.Errorf("the plugin received %+v", got)
	}
}

// store is an order sync plugin that records what it receives.
type store struct {
	mu      sync.Mutex
	webhook sdk.WebhookRequest
	poll    sdk.PollRequest
}

func (s *store) Configure(context.Context, sdk.Config) error { return nil }

func (s *store) Webhook(_ context.Context, req sdk.WebhookRequest) (sdk.WebhookResult, error) {
	s.mu.Lock()
	s.webhook = req
	s.mu.Unlock()
	if req.Header.Get("X-Signature") != "good" {
		return sdk.WebhookResult{Reason: "bad signature"}, nil
	}
	return sdk.WebhookResult{Authentic: true, Events: []sdk.OrderEvent{paid, refunded}}, nil
}

func (s *store) Poll(_ context.Context, req sdk.PollRequest) (sdk.PollResult, error) {
	s.mu.Lock()
	s.poll = req
	s.mu.Unlock()
	if req.Cursor == "broken" {
		return sdk.PollResult{}, errors.New("store answered 500")
	}
	return sdk.PollResult{Events: []sdk.OrderEvent{paid}, NextCursor: "page-2", More: true}, nil
}

// marketplace is a store that also verifies license codes.
type marketplace struct{ store }

func (m *marketplace) VerifyLicense(_ context.Context, req sdk.VerifyLicenseRequest) (sdk.VerifyLicenseResult, error) {
	switch {
	case len(req.ProductIDs) == 0:
		return sdk.VerifyLicenseResult{Outcome: sdk.VerifyNotMapped}, nil
	case req.Code == "REFUNDED":
		return sdk.VerifyLicenseResult{Outcome: sdk.VerifyRefused, Reason: "refunded"}, nil
	case req.Code == "DOWN":
		return sdk.VerifyLicenseResult{}, errors.New("marketplace down")
	}
	two := 2
	return sdk.VerifyLicenseResult{Outcome: sdk.VerifyAccepted, Sale: sdk.Sale{
		ID: "sale-1", Customer: sdk.OrderCustomer{Name: "Ann Lee", Email: "ann@example.com"}, LicenseType: "subscription",
		PurchasedAt: at, ExpiresAt: at.AddDate(1, 0, 0), ParallelUses: &two, Data: map[string]string{"product": req.ProductIDs[0], "client": req.ClientName},
	}}, nil
}

var (
	at       = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	paid     = sdk.OrderEvent{OrderID: "1001", Status: sdk.OrderPaid, Customer: sdk.OrderCustomer{Name: "Ann Lee", Email: "ann@example.com"}, Items: []sdk.OrderItem{{SKU: "ACME", Quantity: 2, Name: "Acme CMS"}}, PurchasedAt: at}
	refunded = sdk.OrderEvent{OrderID: "1000", Status: sdk.OrderRefunded, Customer: sdk.OrderCustomer{Email: "bob@example.com"}, Items: []sdk.OrderItem{{SKU: "ACME", Quantity: 1}}}
)

func TestOrderSyncCrossesGRPC(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	impl := &store{}
	c := sdktest.OrderSync(t, impl)

	header := http.Header{"X-Signature": {"good"}, "X-Multi": {"a", "b"}}
	res, err := c.Webhook(ctx, sdk.WebhookRequest{Method: "POST", Header: header, Query: "secret=s&x=1", Body: []byte("{\"id\":1001}\x00\xff")})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Authentic || !reflect.DeepEqual(res.Events, []sdk.OrderEvent{paid, refunded}) {
		t.Errorf("webhook answer %+v, want both events as sent", res)
	}
	got := impl.webhook
	if got.Method != "POST" || got.Query != "secret=s&x=1" || !bytes.Equal(got.Body, []byte("{\"id\":1001}\x00\xff")) ||
		!reflect.DeepEqual(got.Header.Values("X-Multi"), []string{"a", "b"}) {
		t.Errorf("the plugin received %+v", got)
	}
	if res, err := c.Webhook(ctx, sdk.WebhookRequest{Method: "POST", Header: http.Header{}}); err != nil || res.Authentic || res.Reason != "bad signature" {
		t.Errorf("unsigned webhook: %+v %v, want a refusal with its reason", res, err)
	}

	page, err := c.Poll(ctx, sdk.PollRequest{Cursor: "page-1", Limit: 50, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	if page.NextCursor != "page-2" || !page.More || !reflect.DeepEqual(page.Events, []sdk.OrderEvent{paid}) {
		t.Errorf("poll answer %+v", page)
	}
	if impl.poll != (sdk.PollRequest{Cursor: "page-1", Limit: 50, Now: at}) {
		t.Errorf("the plugin was asked %+v: the cursor, limit and the host's clock must arrive", impl.poll)
	}
	if _, err := c.Poll(ctx, sdk.PollRequest{Cursor: "broken"}); err == nil || !strings.Contains(err.Error(), "store answered 500") {
		t.Errorf("failing poll: %v", err)
	}

	if _, err := c.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: "X", ProductIDs: []string{"ACME"}}); !errors.Is(err, sdk.ErrVerifyUnsupported) {
		t.Errorf("a plugin without VerifyLicense: %v, want sdk.ErrVerifyUnsupported", err)
	}
}

func TestLicenseVerifierCrossesGRPC(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := sdktest.OrderSync(t, &marketplace{})

	res, err := c.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: "GOOD", ClientName: "Ann", ProductIDs: []string{"ACME", "ACME-PRO"}})
	if err != nil {
		t.Fatal(err)
	}
	two := 2
	want := sdk.VerifyLicenseResult{Outcome: sdk.VerifyAccepted, Sale: sdk.Sale{
		ID: "sale-1", Customer: sdk.OrderCustomer{Name: "Ann Lee", Email: "ann@example.com"}, LicenseType: "subscription",
		PurchasedAt: at, ExpiresAt: at.AddDate(1, 0, 0), ParallelUses: &two, Data: map[string]string{"product": "ACME", "client": "Ann"},
	}}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("accepted: %+v, want %+v (Uses stays nil: the product's default)", res, want)
	}
	if res, err := c.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: "REFUNDED", ProductIDs: []string{"ACME"}}); err != nil || res.Outcome != sdk.VerifyRefused || res.Reason != "refunded" {
		t.Errorf("refused: %+v %v", res, err)
	}
	if res, err := c.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: "GOOD"}); err != nil || res.Outcome != sdk.VerifyNotMapped {
		t.Errorf("no product mapped: %+v %v", res, err)
	}
	if _, err := c.VerifyLicense(ctx, sdk.VerifyLicenseRequest{Code: "DOWN", ProductIDs: []string{"ACME"}}); err == nil || errors.Is(err, sdk.ErrVerifyUnsupported) {
		t.Errorf("marketplace down: %v, want the plugin's error", err)
	}
}

// lines is an import format of "name,email" lines: it hashes what it
// received, so the test can tell the body crossed byte for byte.
type lines struct {
	mu   sync.Mutex
	file sdk.ImportFile
	sum  string
	// lateColumns: Parse reports its columns again after its records,
	// breaking the sink's contract.
	lateColumns bool
}

func (l *lines) Configure(context.Context, sdk.Config) error { return nil }

func (l *lines) Parse(_ context.Context, file sdk.ImportFile, out sdk.ImportSink) error {
	body, err := io.ReadAll(file.Body)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	l.mu.Lock()
	l.file, l.sum = file, hex.EncodeToString(sum[:])
	l.mu.Unlock()
	if bytes.HasPrefix(body, []byte("PK")) {
		return errors.New("a zip archive is not a CSV file")
	}
	if err := out.Columns([]string{"name", "email"}); err != nil {
		return err
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
		name, email, ok := strings.Cut(line, ",")
		r := sdk.ImportRecord{Line: i + 1, Fields: map[string]string{"name": name, "email": email}}
		if !ok {
			r = sdk.ImportRecord{Line: i + 1, Error: "expected name,email"}
		}
		if err := out.Record(r); err != nil {
			return err
		}
	}
	if l.lateColumns {
		return out.Columns([]string{"name", "email"})
	}
	return nil
}

func TestImportFormatCrossesGRPC(t *testing.T) {
	t.Parallel()
	impl := &lines{}
	c := sdktest.ImportFormat(t, impl)

	// Larger than one stream chunk (64 KiB), so the body arrives in parts.
	var body strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&body, "Customer %d,c%d@example.com\n", i, i)
	}
	body.WriteString("no comma here\n")
	got, err := sdktest.Parse(t, c, "customers.csv", "customers", []byte(body.String()))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body.String()))
	if impl.sum != hex.EncodeToString(sum[:]) || impl.file.Filename != "customers.csv" || impl.file.Target != "customers" || impl.file.Size != int64(body.Len()) {
		t.Errorf("the plugin received %s (%d bytes declared), want the file byte for byte", impl.file.Filename, impl.file.Size)
	}
	if !reflect.DeepEqual(got.Header, []string{"name", "email"}) || len(got.Records) != 3001 {
		t.Fatalf("parsed %v and %d records", got.Header, len(got.Records))
	}
	if r := got.Records[41]; r.Line != 42 || sdktest.Field(t, r, "email") != "c41@example.com" {
		t.Errorf("record 42: %+v", r)
	}
	if r := got.Records[3000]; r.Line != 3001 || r.Error != "expected name,email" {
		t.Errorf("the bad row: %+v", r)
	}

	if _, err := sdktest.ParseReader(t, c, "archive.csv", "customers", strings.NewReader("PK\x03\x04")); err == nil || !strings.Contains(err.Error(), "not a CSV file") {
		t.Errorf("a file refused as a whole: %v", err)
	}
	if impl.file.Size != -1 {
		t.Errorf("ParseReader declared size %d, want -1", impl.file.Size)
	}
}

// recorder is a testing.TB that keeps the failures it is given, to show
// what the harness reports about a plugin that breaks the contract.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *recorder) failures() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

func TestParseHoldsPluginsToTheSinkContract(t *testing.T) {
	t.Parallel()
	c := sdktest.ImportFormat(t, &lines{lateColumns: true})
	rec := &recorder{TB: t}
	// More rows than one answer message carries (200), so the late columns
	// travel in a message of their own, as a plugin's would.
	body := strings.Repeat("a,b\n", 250)
	if _, err := sdktest.Parse(rec, c, "c.csv", "customers", []byte(body)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"columns after a record", "columns 2 times"} {
		if !strings.Contains(rec.failures(), want) {
			t.Errorf("late columns were not reported (%s): %q", want, rec.failures())
		}
	}
}

func TestManifest(t *testing.T) {
	t.Parallel()
	good := sdk.Manifest{Name: "orders-shop", Version: "1.0.0", Description: "A shop.", VerifyType: "shop",
		Config: []sdk.ConfigField{{Name: "api_key", Label: "API key", Type: sdk.FieldString, Secret: true}}}
	rec := &recorder{TB: t}
	sdktest.Manifest(rec, good, sdk.KindOrderSync)
	if f := rec.failures(); f != "" {
		t.Errorf("a good manifest failed: %s", f)
	}

	bad := good
	bad.Config = []sdk.ConfigField{{Name: "api key", Type: "password"}}
	sdktest.Manifest(rec, bad, sdk.KindCaptcha) // verify_type on a captcha plugin, a bad field name and type
	for _, want := range []string{"verify_type", `config field "api key": name`, `type "password"`} {
		if !strings.Contains(rec.failures(), want) {
			t.Errorf("the bad manifest's failures %q do not mention %s", rec.failures(), want)
		}
	}
}

func TestServerPluginsRefusesAnotherKind(t *testing.T) {
	t.Parallel()
	if _, err := sdk.ServerPlugins(sdk.KindCaptcha, &store{}); err == nil {
		t.Error("an order sync plugin was served as a CAPTCHA plugin")
	}
	if _, err := sdk.ServerPlugins("payments", &captcha{}); err == nil {
		t.Error("an unknown kind was served")
	}
}
