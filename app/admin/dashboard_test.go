package admin_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/server/servertest"
)

// reportSeed is what seedReports made: ids to find on the pages.
type reportSeed struct {
	ann, bob, cy                int64
	annByID, annByEmail, bobNew int64
	annEmailActivation          int64
	today, threeDaysAgo, old    string // chart labels
}

// seedReports fills the database with customers, licenses and activations
// whose counts the dashboard and the report must show. Times are relative
// to now, so every period sees the same data.
func seedReports(t *testing.T, e *servertest.Env) reportSeed {
	t.Helper()
	ctx := context.Background()
	id := func(query string, args ...any) int64 {
		t.Helper()
		var v int64
		if err := e.DB.Bun.NewRaw(query+" RETURNING id", args...).Scan(ctx, &v); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return v
	}
	ago := func(days int) string { return fmt.Sprintf("now() - interval '%d days'", days) }
	customer := func(name, email, clientID string, confirmed bool, days int) int64 {
		confirmedAt := "NULL"
		if confirmed {
			confirmedAt = "now()"
		}
		return id("INSERT INTO customers (name, email, client_id, confirmed_at, email_proven_at, created_at) VALUES (?, ?, ?, "+confirmedAt+", "+confirmedAt+", "+ago(days)+")",
			name, email, clientID)
	}
	var s reportSeed
	s.ann = customer("Ann Archer", "ann@example.com", "CUST-ANN", true, 100)
	s.bob = customer("Bob Baker", "bob@example.com", "CUST-BOB", true, 5)
	s.cy = customer("Cy Cole", "cy@example.com", "CUST-CY", false, 2)
	alpha := id("INSERT INTO products (name, reference_id) VALUES ('Alpha App', 'ALPHA')")
	beta := id("INSERT INTO products (name, reference_id) VALUES ('Beta App', 'BETA')")
	license := func(code string, product int64, customerID, email any, valid bool, expires string, days int) int64 {
		return id("INSERT INTO licenses (product_id, license_code, customer_id, email, is_valid, expires_at, created_at) VALUES (?, ?, ?, ?, ?, "+expires+", "+ago(days)+")",
			product, code, customerID, email, valid)
	}
	// Ann's two licenses: one by client ID (in another case), one by her
	// confirmed email; the second has expired.
	s.annByID = license("L-ANN-ID", alpha, "cust-ann", nil, true, "NULL", 3)
	s.annByEmail = license("L-ANN-EMAIL", beta, nil, "ANN@example.com", true, "now() - interval '1 day'", 3)
	s.bobNew = license("L-BOB", alpha, "CUST-BOB", nil, false, "NULL", 1)
	license("L-BOB-OLD-1", beta, "CUST-BOB", nil, true, "NULL", 200)
	license("L-BOB-OLD-2", beta, "CUST-BOB", nil, true, "NULL", 200)
	// Cy has not confirmed her email, so this license is nobody's.
	license("L-CY-EMAIL", alpha, nil, "cy@example.com", true, "NULL", 2)
	nobody := license("L-NOBODY", alpha, "someone-else", nil, true, "NULL", 80)

	activation := func(licenseID any, product int64, code string, valid, active bool, reason, failure any, days int) int64 {
		at := ago(days)
		if days == 0 {
			at = "now()"
		}
		return id("INSERT INTO activations (license_id, product_id, license_code, domain, ip, is_valid, is_active, deactivation_reason, failure_reason, deactivated_at, created_at, activated_at) "+
			"VALUES (?, ?, ?, 'site.example', '203.0.113.7', ?, ?, ?, ?, CASE WHEN ?::text IS NULL THEN NULL ELSE now() END, "+at+", "+at+")",
			licenseID, product, code, valid, active, reason, failure, reason)
	}
	// Today: two successful activations on Ann's email-linked license (one
	// since deactivated by the client) and a failed attempt.
	s.annEmailActivation = activation(s.annByEmail, beta, "L-ANN-EMAIL", true, true, nil, nil, 0)
	activation(s.annByEmail, beta, "L-ANN-EMAIL", true, false, "client", nil, 0)
	activation(nil, alpha, "NO-SUCH-CODE", false, false, nil, "license_not_found", 0)
	activation(s.annByID, alpha, "L-ANN-ID", true, true, nil, nil, 2)
	activation(s.bobNew, alpha, "L-BOB", true, false, nil, nil, 1)
	activation(nobody, alpha, "L-NOBODY", true, true, nil, nil, 60)
	for range 3 {
		if _, err := e.DB.Bun.NewRaw("INSERT INTO customer_activity (customer_id, type) VALUES (?, 'license_verified')", s.ann).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The nodes' API call counts: today 3 activate, 3 verify, 1 deactivate
	// and 2 other calls; one activate call 60 days ago.
	for scope, n := range map[string]int{"license:activate": 3, "license:verify": 3, "license:deactivate": 1, "products:list": 2} {
		if _, err := e.DB.Bun.NewRaw("INSERT INTO api_call_counts (day, scope, calls) VALUES ((now() AT TIME ZONE 'UTC')::date, ?, ?)", scope, n).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.DB.Bun.NewRaw("INSERT INTO api_call_counts (day, scope, calls) VALUES ((now() AT TIME ZONE 'UTC')::date - 60, 'license:activate', 1)").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	label := func(days int) string { return time.Now().UTC().AddDate(0, 0, -days).Format("Jan 2") }
	s.today, s.threeDaysAgo, s.old = label(0), label(3), label(60)
	return s
}

// chartOf returns the figure of chart name in body.
func chartOf(t *testing.T, body, name string) string {
	t.Helper()
	start := strings.Index(body, `<figure class="chart" data-chart="`+name+`">`)
	if start < 0 {
		start = strings.Index(body, `<figure class="chart chart-donut" data-chart="`+name+`">`)
	}
	if start < 0 {
		t.Fatalf("no chart %q", name)
	}
	end := strings.Index(body[start:], "</figure>")
	fig := body[start : start+end]
	if !strings.Contains(fig, "<svg") || !strings.Contains(fig, `role="img"`) {
		t.Errorf("chart %q is not an accessible svg", name)
	}
	return fig
}

// statOf is the value of the dashboard counter name.
func statOf(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`data-stat="` + name + `">\s*<span class="stat-label">[^<]*</span>\s*<span class="stat-value">([^<]*)</span>\s*<span class="stat-note">([^<]*)</span>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no counter %q", name)
	}
	return m[1] + " | " + m[2]
}

// rankingOf returns the customer names of a ranking in order, with values.
func rankingOf(t *testing.T, body, key string) []string {
	t.Helper()
	start := strings.Index(body, `data-ranking="`+key+`"`)
	if start < 0 {
		t.Fatalf("no ranking %q", key)
	}
	sec := body[start : start+strings.Index(body[start:], "</section>")]
	var out []string
	for _, m := range regexp.MustCompile(`<a href="/admin/customers/(\d+)"[^>]*>([^<]*)</a>.*?<td class="num">(\d+)</td>`).FindAllStringSubmatch(strings.ReplaceAll(sec, "\n", " "), -1) {
		out = append(out, m[2]+"="+m[3]+"@"+m[1])
	}
	return out
}

func TestDashboardNumbers(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	s := seedReports(t, e)
	c := e.SignIn(t)
	r := c.Get("/admin")
	if r.StatusCode != 200 {
		t.Fatalf("dashboard: %d\n%s", r.StatusCode, r.Body)
	}
	for name, want := range map[string]string{
		"customers":          "3 | accounts",
		"new-customers":      "2 | in the last 30 days",
		"active-licenses":    "5 | 1 expired · 1 blocked",
		"active-activations": "3 | holding a slot now",
		// The API calls counted today (the one 60 days ago is outside 30 days).
		"api-calls": "9 | in the last 30 days",
	} {
		if got := statOf(t, r.Body, name); got != want {
			t.Errorf("counter %s = %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(r.Body, `<a href="/admin?days=30" aria-current="true">30 days</a>`) {
		t.Error("the default period is 30 days")
	}

	row := func(cells ...string) string {
		return "<td>" + strings.Join(cells, "</td><td>") + "</td></tr>"
	}
	act := chartOf(t, r.Body, "activations")
	if !strings.Contains(act, `<th scope="row">`+s.today+`</th>`+row("2", "1")) {
		t.Errorf("activations today should be 2 succeeded, 1 failed:\n%s", act)
	}
	if strings.Count(act, `<th scope="row">`) != 30 {
		t.Errorf("want 30 days, got %d", strings.Count(act, `<th scope="row">`))
	}
	if strings.Contains(act, `<th scope="row">`+s.old+`</th>`) {
		t.Error("60 days ago is outside the period")
	}
	api := chartOf(t, r.Body, "api-calls")
	if !strings.Contains(api, `<th scope="row">`+s.today+`</th>`+row("3", "3", "1", "2")) {
		t.Errorf("api calls today: 3 activate, 3 verify, 1 deactivate, 2 other:\n%s", api)
	}
	growth := chartOf(t, r.Body, "customers")
	if !strings.Contains(growth, `<th scope="row">`+s.today+`</th>`+row("3")) ||
		!strings.Contains(growth, `<th scope="row">`+s.threeDaysAgo+`</th>`+row("2")) {
		t.Errorf("customer growth: 2 three days ago, 3 today:\n%s", growth)
	}
	donut := chartOf(t, r.Body, "licenses-status")
	for _, want := range []string{"<title>Active: 5 (71%)</title>", "<title>Expired: 1 (14%)</title>", "<title>Blocked: 1 (14%)</title>", ">7</text>"} {
		if !strings.Contains(donut, want) {
			t.Errorf("license donut lacks %s:\n%s", want, donut)
		}
	}

	// Recent activations link to the activation, its license and, by the
	// linking rule (email here), its customer; failed attempts are left out.
	recent := fmt.Sprintf(`<a href="/admin/activations/%d">`, s.annEmailActivation)
	i := strings.Index(r.Body, recent)
	if i < 0 {
		t.Fatalf("recent activations lack %s", recent)
	}
	rowText := r.Body[i : i+strings.Index(r.Body[i:], "</tr>")]
	for _, want := range []string{fmt.Sprintf(`href="/admin/licenses/%d"`, s.annByEmail), fmt.Sprintf(`href="/admin/customers/%d">Ann Archer<`, s.ann), "Beta App", "site.example"} {
		if !strings.Contains(rowText, want) {
			t.Errorf("recent activation row lacks %s:\n%s", want, rowText)
		}
	}
	if strings.Contains(r.Body, "NO-SUCH-CODE") {
		t.Error("failed attempts are not recent activations")
	}

	// Top customers over 30 days: Ann's license by email and by client ID
	// both count; Bob's old licenses do not.
	ann, bob := fmt.Sprintf("@%d", s.ann), fmt.Sprintf("@%d", s.bob)
	for key, want := range map[string][]string{
		"licenses":    {"Ann Archer=2" + ann, "Bob Baker=1" + bob},
		"products":    {"Ann Archer=2" + ann, "Bob Baker=1" + bob},
		"activations": {"Ann Archer=3" + ann, "Bob Baker=1" + bob},
	} {
		if got := rankingOf(t, r.Body, key); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("dashboard ranking %s = %v, want %v", key, got, want)
		}
	}
	if !strings.Contains(r.Body, `href="/admin/reports/top-customers?days=30"`) {
		t.Error("no link to the full report")
	}

	// 90 days take in the activation 60 days ago; a bad period means 30.
	r = c.Get("/admin?days=90")
	act = chartOf(t, r.Body, "activations")
	if strings.Count(act, `<th scope="row">`) != 90 || !strings.Contains(act, `<th scope="row">`+s.old+`</th>`+row("1", "0")) {
		t.Errorf("90 days:\n%s", act)
	}
	if got := statOf(t, r.Body, "api-calls"); got != "10 | in the last 90 days" {
		t.Errorf("api calls over 90 days: %q", got)
	}
	r = c.Get("/admin?days=12345")
	if r.StatusCode != 200 || !strings.Contains(r.Body, `<a href="/admin?days=30" aria-current="true">`) {
		t.Errorf("a bad period falls back to 30 days: %d", r.StatusCode)
	}
	if r = c.Get("/admin?days=7"); strings.Count(chartOf(t, r.Body, "customers"), `<th scope="row">`) != 7 {
		t.Error("7 days should draw 7 days")
	}
}

func TestTopCustomersReport(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	s := seedReports(t, e)
	c := e.SignIn(t)
	ann, bob := fmt.Sprintf("@%d", s.ann), fmt.Sprintf("@%d", s.bob)

	// All time: Bob's two old licenses put him first by licenses, and by
	// products on the tie (two each) as he has more licenses.
	r := c.Get("/admin/reports/top-customers")
	if r.StatusCode != 200 {
		t.Fatalf("report: %d\n%s", r.StatusCode, r.Body)
	}
	for key, want := range map[string][]string{
		"licenses":    {"Bob Baker=3" + bob, "Ann Archer=2" + ann},
		"products":    {"Bob Baker=2" + bob, "Ann Archer=2" + ann},
		"activations": {"Ann Archer=3" + ann, "Bob Baker=1" + bob},
	} {
		if got := rankingOf(t, r.Body, key); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("all-time ranking %s = %v, want %v", key, got, want)
		}
	}
	if strings.Contains(r.Body, "Cy Cole") {
		t.Error("Cy's unconfirmed email links no license")
	}
	if !strings.Contains(r.Body, `<a href="/admin/reports/top-customers" aria-current="true">All time</a>`) ||
		!strings.Contains(r.Body, `href="/admin/reports/top-customers" aria-current="page"`) {
		t.Error("all time is the default, and the sidebar marks Reports")
	}

	// Seven days: only licenses made this week.
	r = c.Get("/admin/reports/top-customers?days=7")
	if got := rankingOf(t, r.Body, "licenses"); strings.Join(got, ",") != "Ann Archer=2"+ann+",Bob Baker=1"+bob {
		t.Errorf("7-day licenses ranking: %v", got)
	}
	if got := rankingOf(t, r.Body, "activations"); strings.Join(got, ",") != "Ann Archer=3"+ann+",Bob Baker=1"+bob {
		t.Errorf("7-day activations ranking: %v", got)
	}
	// A period without anything: the empty state.
	if _, err := e.DB.Bun.NewRaw("UPDATE licenses SET created_at = now() - interval '400 days'").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DB.Bun.NewRaw("UPDATE activations SET created_at = now() - interval '400 days'").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r = c.Get("/admin/reports/top-customers?days=365"); !strings.Contains(r.Body, "No customers to rank") {
		t.Errorf("empty period:\n%s", r.Body)
	}
}

func TestDashboardEmpty(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.SignIn(t)
	r := c.Get("/admin")
	if r.StatusCode != 200 {
		t.Fatalf("empty dashboard: %d\n%s", r.StatusCode, r.Body)
	}
	for _, name := range []string{"activations", "customers", "licenses-status", "api-calls"} {
		if fig := chartOf(t, r.Body, name); !strings.Contains(fig, `class="empty-label"`) {
			t.Errorf("chart %s should say it has no data:\n%s", name, fig)
		}
	}
	for _, want := range []string{`data-empty="recent-activations"`, `data-empty="top-customers"`, "Welcome back, Ann Admin"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("empty dashboard lacks %s", want)
		}
	}
	if got := statOf(t, r.Body, "customers"); got != "0 | accounts" {
		t.Errorf("customers: %q", got)
	}
	if r := c.Get("/admin/reports/top-customers"); r.StatusCode != 200 || !strings.Contains(r.Body, "No customers to rank") {
		t.Errorf("empty report: %d\n%s", r.StatusCode, r.Body)
	}
}

func TestDashboardAndReportNeedAdmin(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	anon := e.Client(t)
	for _, path := range []string{"/admin", "/admin?days=7", "/admin/reports/top-customers"} {
		if r := anon.Get(path); r.StatusCode != 302 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
			t.Errorf("anonymous GET %s: %d %q", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
}

// The dashboard's widgets: every tile a link with its growth against the
// previous period, licenses by product, the last 24 hours, top products
// and API health.
func TestDashboardWidgets(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	seedReports(t, e)
	ctx := context.Background()
	for _, q := range []string{
		// One customer in the 30 days before the period: 2 now against 1.
		`INSERT INTO customers (name, email, client_id, created_at) VALUES ('Dee Dale', 'dee@example.com', 'CUST-DEE', now() - interval '40 days')`,
		`INSERT INTO river_job (kind, args, state, attempt, max_attempts, priority, queue, scheduled_at, finalized_at)
		 VALUES ('expiry_scan', '{}', 'completed', 1, 1, 1, 'default', now() - interval '2 hours', now() - interval '2 hours'),
		        ('send_mail', '{}', 'available', 0, 5, 1, 'default', now() - interval '1 minute', NULL)`,
	} {
		if _, err := e.DB.Bun.NewRaw(q).Exec(ctx); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	c := e.SignIn(t)
	r := c.Get("/admin")
	if r.StatusCode != 200 {
		t.Fatalf("dashboard: %d\n%s", r.StatusCode, r.Body)
	}
	if strings.Contains(r.Body, `<div class="stat"`) {
		t.Error("a dashboard tile is not a link")
	}
	if n := strings.Count(r.Body, `<a class="stat card"`); n != 7 {
		t.Errorf("tiles: %d, want 7", n)
	}
	tile := func(name string) string {
		t.Helper()
		i := strings.Index(r.Body, `data-stat="`+name+`"`)
		if i < 0 {
			t.Fatalf("no tile %s", name)
		}
		return r.Body[i : i+strings.Index(r.Body[i:], "</a>")]
	}
	if got := tile("new-customers"); !strings.Contains(got, `<span class="stat-value">2</span>`) || !strings.Contains(got, "100%") || !strings.Contains(got, "growth-up") {
		t.Errorf("new customers tile: 2, +100%% against the previous 30 days:\n%s", got)
	}
	if got := tile("new-licenses"); !strings.Contains(got, `<span class="stat-value">4</span>`) || !strings.Contains(got, ">new <") {
		t.Errorf("new licenses tile: 4, none before:\n%s", got)
	}
	if got := tile("downloads"); !strings.Contains(got, `<span class="stat-value">0</span>`) || strings.Contains(got, "stat-growth") {
		t.Errorf("downloads tile: 0, no growth to show:\n%s", got)
	}
	donut := chartOf(t, r.Body, "licenses-by-product")
	for _, want := range []string{"<title>Alpha App: 4 (57%)</title>", "<title>Beta App: 3 (43%)</title>"} {
		if !strings.Contains(donut, want) {
			t.Errorf("licenses by product lacks %s:\n%s", want, donut)
		}
	}
	chartOf(t, r.Body, "issued")
	widget := func(name string) string {
		t.Helper()
		i := strings.Index(r.Body, `data-widget="`+name+`"`)
		if i < 0 {
			t.Fatalf("no widget %s", name)
		}
		return r.Body[i : i+strings.Index(r.Body[i:], "</article>")]
	}
	last := widget("last-24-hours")
	for _, want := range []string{`data-count="activations">2<`, `data-count="failed-activations">1<`, `data-count="deactivations">1<`, `data-count="customers">0<`} {
		if !strings.Contains(last, want) {
			t.Errorf("last 24 hours lacks %s:\n%s", want, last)
		}
	}
	top := widget("top-products")
	if a, b := strings.Index(top, "Alpha App"), strings.Index(top, "Beta App"); a < 0 || b < a || !strings.Contains(top, `href="/admin/licenses?product=ALPHA">4<`) {
		t.Errorf("top products: Alpha (4) before Beta (3):\n%s", top)
	}
	health := widget("api-health")
	for _, want := range []string{`data-health="database">reachable`, `data-health="backlog">1 due<`, `data-health="failed-activations">33%<`} {
		if !strings.Contains(health, want) {
			t.Errorf("API health lacks %s:\n%s", want, health)
		}
	}
	if strings.Contains(health, `data-health="expiry-scan">never`) {
		t.Errorf("API health misses the last expiry scan:\n%s", health)
	}
}
