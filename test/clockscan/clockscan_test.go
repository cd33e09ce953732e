package clockscan

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/licensor/licensor/test/sourcescan"
)

// The suite must pass on any date up to the end of lastYear. A fixed date
// before firstYear is in the past on every such day and one from
// neverYear on is in the future on every such day, so comparing either
// with the wall clock always gives the same answer: they need no reason.
const (
	firstYear = 2021
	lastYear  = 2030
	neverYear = 2099
)

// fixedDates are the test functions (keyed "<folder>/<file>: <func>", the
// folder being the package's last path element so that moving a package
// keeps its keys) that hold a fixed date between firstYear and neverYear,
// with the reason the date is never compared with the wall clock: the
// code under test runs on a clock the test stopped at or near that date,
// or the date is only parsed, formatted or stored and read back.
var fixedDates = map[string]string{
	"licensing/activate_scan_test.go: TestLockedLicenseScansAsBun": "the dates are only stored and read back, by pgx's decoder and bun's scan, and compared with each other",
	// The code under test runs on a clock the test stopped at the date.
	"apikeys/apikeys_test.go: TestCreateValidation":                               "apikeys.Create takes the test's now",
	"apirequest/apirequest_test.go: TestDate":                                     "After(now) takes the test's now; the other cases only parse",
	"apirequest/fuzz_test.go: checkParse":                                         "the parser's After rule takes the test's now",
	"audit/audit_test.go: TestRecordAndList":                                      "entries are written at the test's times and listed by them, with no window on the wall clock",
	"autoblacklist/autoblacklist_test.go: var now":                                "the scan's clock",
	"catalog/cache_test.go: TestCacheWithoutListenerRereadsAfterASecond":          "the cache's clock",
	"catalog/product_test.go: newService":                                         "the service's clock",
	"catalog/version_service_test.go: newVersions":                                "the version service's clock",
	"catalog/version_service_test.go: TestCreateVersionValidation":                "release dates derived from the version service's clock",
	"customers/customers_test.go: newService":                                     "the service's clock",
	"customers/tokens_test.go: TestTokensAreSingleUseExpiringAndHashed":           "the token functions take the test's now",
	"expiry/expiry_test.go: newEnv":                                               "the scanner's clock",
	"expiry/expiry_test.go: TestScanOncePerLicenseAndThreshold":                   "an expiry day derived from the scanner's clock, as the activity line prints it",
	"licensing/codes_test.go: TestGenerateCodeFormats":                            "code generation takes the test's now",
	"licensing/fixture_test.go: newLicFixture":                                    "the licensing service's clock",
	"mail/mail_test.go: newEnv":                                                   "the mailer's and the sender's clock",
	"pipeline/keys_test.go: TestKeyUsageWritesAtMostOnceAMinute":                  "Used takes the test's times",
	"pipeline/lockorder_test.go: TestConcurrentCallCounterFlushesDoNotDeadlock":   "Count takes the test's time",
	"pipeline/lockorder_test.go: TestConcurrentKeyUsageFlushesDoNotDeadlock":      "Used takes the test's times, and the last use is compared with the last of them",
	"pipeline/lockorder_test.go: TestKeyUsageKeepsAFailedFlushesUses":             "Used takes the test's time",
	"ratelimit/batch_test.go: TestConcurrentFlushesOfTheSameBucketsDoNotDeadlock": "the time each hit is given",
	"ratelimit/batch_test.go: TestBatchLimiterSmallLimitIsExactAcrossNodes":       "the time each hit is given",
	"ratelimit/batch_test.go: TestBatchLimiterBatchesUnderHalfTheLimit":           "the time each hit is given",
	"ratelimit/ratelimit_test.go: TestHitWindows":                                 "the limiter's clock, and Prune takes the test's time",
	"ratelimit/ratelimit_test.go: TestHitConcurrent":                              "the limiter's clock",
	"retention/retention_test.go: TestRetention":                                  "the clean-up takes the test's now",
	"settings/settings_test.go: TestStoreWithoutListenerRereadsAfterASecond":      "the store's clock",
	"signing/token_test.go: var t0":                                               "the key ring's and the tokens' clock",
	"signing/token_test.go: TestPublicKeysJSON":                                   "keys created and retired at t0 and after, as the JSON prints them",
	"webhooks/webhooks_test.go: TestPayloads":                                     "payloads built from a license the test made, its dates printed in two time zones",
	"jobs/expiry_scan_internal_test.go: TestDailySchedule":                        "the schedule's functions take the test's times",
	"bench/tokens_test.go: var issuedAt":                                          "the signing keys' creation time in a benchmark",
	"orders-woocommerce/main_test.go: var now":                                    "the host's clock, sent in PollRequest.Now: the plugin reads no other",
	"orders-woocommerce/main_test.go: TestPollWithoutStoreDoesNothing":            "a cursor the plugin keeps as it is, polled at the host's clock",
	"orders-woocommerce/main_test.go: TestPollErrors":                             "a cursor sent to a store that fails, polled at the host's clock",

	// The date is only parsed, formatted, or stored and read back.
	"signing/licensefile_test.go: sampleLicense":                          "a license file's fields, signed and verified with no clock",
	"signing/licensefile_test.go: TestSignLicenseFileFormat":              "the signed file's bytes",
	"signing/licensefile_test.go: TestVerifyLicenseFile":                  "a license file's fields",
	"signing/licensefile_test.go: TestLicenseFileOfflineBinding":          "an offline file's bytes, signed and verified with no clock",
	"catalog/version_test.go: TestLatestVersions":                         "release dates compared with each other, not with now",
	"admin/product_versions_test.go: TestVersionUploadListPublishDelete":  "a release date stored and read back",
	"admin/activity_test.go: TestActivityList":                            "entries seeded in the past and found by explicit from/to filters; the list has no window on the wall clock",
	"admin/activity_test.go: TestActivityPagination":                      "entries seeded in the past, paged newest first",
	"admin/activity_test.go: TestActivitySortAndBulkDelete":               "entries seeded in the past, sorted",
	"external/updates_test.go: var day":                                   "release dates in the past: only their order matters",
	"external/updates_test.go: TestUpdateCheckAndLatestBodies":            "release dates in the past, as the bodies print them",
	"external/verify_test.go: TestLicenseCheck":                           "dates of an expired license: past on every day the suite runs",
	"internalapi/legacy_test.go: TestLegacyProducts":                      "a past release date as the legacy body prints it",
	"internalapi/legacy_versions_test.go: TestLegacyEditOrCreateVersion":  "release dates stored and read back",
	"internalapi/licenses_test.go: TestLicenseFile":                       "an updates-until date written into the license file and read back",
	"internalapi/versions_test.go: TestVersionsListAndRead":               "release dates stored and read back",
	"internalapi/versions_test.go: TestVersionUploadCreateUpdateDelete":   "release dates stored and read back",
	"apirequest/fuzz_test.go: FuzzParse":                                  "a seed input to a parser",
	"apirequest/fuzz_test.go: FuzzParseJSON":                              "a seed input to a parser",
	"imports/fuzz_test.go: FuzzCSV":                                       "a seed input to a parser",
	"orders-gumroad/fuzz_test.go: FuzzPing":                               "a seed input to a parser",
	"orders-woocommerce/renewal_shape_test.go: TestRealRenewalOrderShape": "a date in a store's order, parsed and compared with itself",
	"licensing/hotreads_test.go: TestHotReadsMatchDatabaseSQL":            "expiry dates stored and read back by two read paths, compared with each other",
	"orders-woocommerce/fuzz_test.go: FuzzWebhook":                        "a seed input to a parser",
	"captcha-recaptcha/main_test.go: newSiteverify":                       "a challenge time in the fake siteverify's answer, which the plugin does not read",
	"import-xlsx/main_test.go: TestLicensesSheetDates":                    "date cells written into a workbook and read back as text",
	"orders-gumroad/main_test.go: var soldAt":                             "a sale time the fake API returns and the plugin passes on as the purchase time",
	"orders-gumroad/main_test.go: var purchases":                          "subscription end times the plugin checks for presence, not against a clock",
	"orders-gumroad/main_test.go: TestSalePings":                          "a ping's sale time parsed and passed on as the purchase time",
	"sdktest/sdktest_test.go: var at":                                     "a sale's times sent across gRPC and compared with what was sent",
}

// wallClock are the time.Now() calls in plugins/ and jobs/ (keyed
// "<folder>/<file>: <func>"), with the reason the wall clock is the right
// one there. Any other "now" in these folders comes from a clock the host
// or main passes in.
var wallClock = map[string]string{
	"jobs/jobs.go: NewClient":                                 "Deps.Now's default: main's clock is the wall clock",
	"jobs/jobs.go: cappedRetryPolicy.NextRetry":               "a retry time for River's scheduler, which runs on the wall clock",
	"jobs/deliver_webhook.go: deliverWebhookWorker.NextRetry": "a retry time for River's scheduler, which runs on the wall clock",
	"sdk/ordersync.go: orderSyncServer.Poll":                  "an older host sends no clock: the plugin's own is the only one there is",
	"host/host.go: Host.inspect":                              "when a plugin's error was seen, for the console",
	"host/host.go: managed.noteLocked":                        "when a plugin's error was seen, for the console",
	"host/host.go: Host.acquire":                              "supervising a live process: real elapsed time",
	"host/process.go: Host.startLocked":                       "supervising a live process: when it started",
	"host/process.go: managed.crashedLocked":                  "supervising a live process: the restart back-off runs in real time",
	"hosttest/hosttest.go: pruneOld":                          "a test helper clearing its cache folder of files unused for a day",
	"host/process.go: Host.checkHealth":                       "supervising a live process: the restart back-off runs in real time",
}

// dateString matches a calendar date inside a string literal: 2026-11-28,
// 2026-11-28T10:00:00Z, "expires 2026-11-28 10:00".
var dateString = regexp.MustCompile(`(?:^|[^0-9])((?:19|20)\d\d)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[^0-9]|$)`)

// goLayout is Go's reference time, which layouts spell: not a date.
const goLayout = "2006-01-02"

// finding is one fixed date or wall-clock read: where, its year (dates),
// and its allow-list key.
type finding struct {
	pos  string
	year int
	key  string
}

// funcName names the top-level declaration n sits in: "F", "T.M" or
// "var x" / "const x".
func funcName(d ast.Decl) string {
	switch x := d.(type) {
	case *ast.FuncDecl:
		if x.Recv != nil && len(x.Recv.List) == 1 {
			t := x.Recv.List[0].Type
			if s, ok := t.(*ast.StarExpr); ok {
				t = s.X
			}
			if ix, ok := t.(*ast.IndexExpr); ok {
				t = ix.X
			}
			if id, ok := t.(*ast.Ident); ok {
				return id.Name + "." + x.Name.Name
			}
		}
		return x.Name.Name
	case *ast.GenDecl:
		for _, s := range x.Specs {
			if v, ok := s.(*ast.ValueSpec); ok && len(v.Names) > 0 {
				return x.Tok.String() + " " + v.Names[0].Name
			}
		}
		return x.Tok.String()
	}
	return "?"
}

// isPkgCall reports whether call is pkg.name(...) (an imported package,
// by its local name).
func isPkgCall(call *ast.CallExpr, pkg, name string) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg && id.Obj == nil
}

// fixedDatesIn returns the fixed dates in one test file: date strings
// (not Go's layout) and time.Date calls with a literal year.
func fixedDatesIn(fset *token.FileSet, f *ast.File, where string) []finding {
	var out []finding
	for _, d := range f.Decls {
		key := where + ": " + funcName(d)
		ast.Inspect(d, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BasicLit:
				if x.Kind != token.STRING {
					return true
				}
				s := strings.ReplaceAll(x.Value, goLayout, "")
				for _, m := range dateString.FindAllStringSubmatch(s, -1) {
					y, _ := strconv.Atoi(m[1])
					out = append(out, finding{pos: fset.Position(x.Pos()).String(), year: y, key: key})
				}
			case *ast.CallExpr:
				if !isPkgCall(x, "time", "Date") || len(x.Args) == 0 {
					return true
				}
				if lit, ok := x.Args[0].(*ast.BasicLit); ok && lit.Kind == token.INT {
					y, _ := strconv.Atoi(lit.Value)
					out = append(out, finding{pos: fset.Position(x.Pos()).String(), year: y, key: key})
				}
			}
			return true
		})
	}
	return out
}

// wallClockIn returns the time.Now() calls (and time.Since/Until, which
// read it) in one file.
func wallClockIn(fset *token.FileSet, f *ast.File, where string) []finding {
	var out []finding
	for _, d := range f.Decls {
		key := where + ": " + funcName(d)
		ast.Inspect(d, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok &&
				(isPkgCall(call, "time", "Now") || isPkgCall(call, "time", "Since") || isPkgCall(call, "time", "Until")) {
				out = append(out, finding{pos: fset.Position(call.Pos()).String(), key: key})
			}
			// A bare time.Now handed on as a clock reads the wall clock too.
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Now" {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" && id.Obj == nil {
					out = append(out, finding{pos: fset.Position(sel.Pos()).String(), key: key})
				}
			}
			return true
		})
	}
	return dedupe(out)
}

// dedupe drops the selector finding that a time.Now() call also reported.
func dedupe(in []finding) []finding {
	seen := map[string]bool{}
	var out []finding
	for _, f := range in {
		if !seen[f.pos] {
			seen[f.pos] = true
			out = append(out, f)
		}
	}
	return out
}

// walk parses the repository's Go files for which keep says yes, handing
// each to fn with its "<folder>/<file>" (the allow-lists' key: the
// package's last path element, so moving a package keeps its keys) and
// its path from the root.
func walk(t *testing.T, keep func(rel string) bool, fn func(fset *token.FileSet, f *ast.File, where, rel string)) int {
	t.Helper()
	return sourcescan.Walk(t, sourcescan.Root(t), keep, func(fset *token.FileSet, f *ast.File, rel string) {
		fn(fset, f, path.Base(path.Dir(rel))+"/"+path.Base(rel), rel)
	})
}

// TestFixedDates fails on a fixed date in a test that is not on
// fixedDates: a date the wall clock will pass (or has passed) is a test
// that passes today and fails on another day. Give the code under test a
// clock and make the date relative to it (clock.Add(-time.Hour)), or use
// a date before firstYear or from neverYear on, or add the test with the
// reason its date never meets the wall clock.
func TestFixedDates(t *testing.T) {
	used := map[string]bool{}
	files := walk(t, func(rel string) bool { return strings.HasSuffix(rel, "_test.go") }, func(fset *token.FileSet, f *ast.File, where, rel string) {
		if rel == "test/clockscan/clockscan_test.go" {
			return // its own examples
		}
		for _, fd := range fixedDatesIn(fset, f, where) {
			if fd.year < firstYear || fd.year >= neverYear {
				continue
			}
			if _, ok := fixedDates[fd.key]; ok {
				used[fd.key] = true
				continue
			}
			t.Errorf("%s: %q holds a fixed date in %d, which the wall clock reaches or leaves while the suite must pass (to %d): "+
				"make it relative to the clock the code under test uses, or add it to fixedDates with the reason it is never compared with the wall clock",
				fd.pos, fd.key, fd.year, lastYear)
		}
	})
	if files < 100 {
		t.Fatalf("only %d test files read: is the walk rooted at the repository?", files)
	}
	sourcescan.CheckAllowList(t, fixedDates, used)
}

// TestWallClock fails on a time.Now() in plugins/ or jobs/ (their code,
// not their tests) that is not on wallClock: a plugin or a job that reads
// the wall clock for something a test must control (a poll window, a
// scan's day) takes the host's clock instead.
func TestWallClock(t *testing.T) {
	used := map[string]bool{}
	keep := func(rel string) bool {
		return (strings.HasPrefix(rel, "plugins/") || strings.HasPrefix(rel, "jobs/")) && !strings.HasSuffix(rel, "_test.go")
	}
	files := walk(t, keep, func(fset *token.FileSet, f *ast.File, where, _ string) {
		for _, fd := range wallClockIn(fset, f, where) {
			if _, ok := wallClock[fd.key]; ok {
				used[fd.key] = true
				continue
			}
			t.Errorf("%s: %q reads the wall clock: take the clock the host or main passes in, or add it to wallClock with the reason the wall clock is right there",
				fd.pos, fd.key)
		}
	})
	if files < 20 {
		t.Fatalf("only %d files read: is the walk rooted at the repository?", files)
	}
	sourcescan.CheckAllowList(t, wallClock, used)
}

// TestScanFlags shows the scans catch what they are for, and let pass
// what they should, on a file written here.
func TestScanFlags(t *testing.T) {
	src := `package p
import "time"
var stopped = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) // flagged (var stopped)
func TestA(t *testing.T) {
	_ = "2026-11-28T10:02:00"                    // flagged
	_ = map[string]string{"expires_at": "2030-01-31"} // flagged
	_ = "2099-12-31 23:59:59"                    // always future: year 2099
	_ = "2001-01-01"                             // always past: year 2001
	_ = time.Now().Format("2006-01-02")          // a layout, not a date
	_ = "v1.2.0-2026"                            // not a date
	_ = time.Now().AddDate(1, 0, 0)              // relative
}
type s struct{}
func (*s) poll() time.Time { return time.Now() } // wall clock
func clock() func() time.Time { return time.Now } // wall clock, as a clock
func since(t0 time.Time) bool { return time.Since(t0) > 0 } // wall clock
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p_test.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, fd := range fixedDatesIn(fset, f, "p/p_test.go") {
		got = append(got, strconv.Itoa(fd.year)+" "+strings.TrimPrefix(fd.key, "p/p_test.go: "))
	}
	want := []string{"2025 var stopped", "2026 TestA", "2030 TestA", "2099 TestA", "2001 TestA"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("dates %q, want %q", got, want)
	}
	got = got[:0]
	for _, fd := range wallClockIn(fset, f, "p/p.go") {
		got = append(got, strings.TrimPrefix(fd.key, "p/p.go: "))
	}
	want = []string{"TestA", "TestA", "s.poll", "clock", "since"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("wall clock %q, want %q", got, want)
	}
}
