package browsertest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/server/browsertest"
	"github.com/licensor/licensor/test/eventually"
)

// The console as an admin works through it (issue #4, Tests): sign in,
// create a customer, find it with the search box, open it, bulk delete two
// customers, create a license and block it, import a CSV with a bad row,
// and see the dashboard's charts.
func TestConsole(t *testing.T) {
	t.Parallel()
	e := browsertest.New(t)
	product := newProduct(t, e, "Widget Pro", "WIDGETPRO")
	newCustomer(t, e, "Bulk One", "bulk1@example.com", "plum river anchor 11")
	newCustomer(t, e, "Bulk Two", "bulk2@example.com", "plum river anchor 12")
	newCustomer(t, e, "Kept Karl", "karl@example.com", "plum river anchor 13")
	newLicense(t, e, product, "KARL-1111-2222-3333", "karl@example.com")
	apiActivate(t, e, product, "KARL-1111-2222-3333", "karl.example.com")

	b := e.Browser(t)
	b.SignInAdmin()
	b.WaitText("Welcome back, " + "Ann Admin")
	b.Screenshot("dashboard")

	// Create a customer.
	b.Open("/admin/customers")
	b.WaitText("Bulk One")
	b.Screenshot("customers")
	b.ClickButton("New customer")
	b.WaitPath(`^/admin/customers/new$`)
	b.FillForm("form.customer-form", "name", "Grace Hopper", "email", "grace@example.com", "password", "cobalt fern window 88", "password_confirm", "cobalt fern window 88")
	b.Screenshot("customer-new")
	b.ClickButton("Save")
	b.WaitText("Customer Grace Hopper created.")
	b.WaitPath(`^/admin/customers/\d+$`)
	if n := scalar[int](t, e, "SELECT count(*) FROM customers WHERE email = 'grace@example.com' AND name = 'Grace Hopper'"); n != 1 {
		t.Fatalf("customer rows after creating: %d", n)
	}

	// Search it: typing updates the table in place (htmx) and the URL.
	b.Open("/admin/customers")
	b.WaitText("Kept Karl")
	b.Fill(`input[type=search][name=q]`, "grace")
	b.WaitPath(`^/admin/customers\?(.*&)?q=grace`)
	b.WaitNoText("Kept Karl")
	b.WaitText("Grace Hopper")
	if n := b.Count("#customers-results tbody tr"); n != 1 {
		t.Errorf("rows after searching for grace: %d, want 1", n)
	}
	b.Screenshot("customers-search")

	// Open its detail page.
	b.ClickLink("Grace Hopper")
	b.WaitPath(`^/admin/customers/\d+$`)
	b.WaitText("Activation history")
	b.WaitText("grace@example.com")
	b.Screenshot("customer-detail")

	// Bulk delete two customers: select their rows, confirm.
	b.Open("/admin/customers")
	b.WaitText("Bulk Two")
	b.SetChecked(`input[name=ids][aria-label="Select Bulk One"]`, true)
	b.SetChecked(`input[name=ids][aria-label="Select Bulk Two"]`, true)
	b.Screenshot("customers-selected")
	b.WaitText("2 selected")
	b.Click(".bulk-menu summary")
	b.ClickButton("Delete")
	b.ConfirmDialog("Delete 2 selected customer(s)?")
	b.WaitText("Deleted 2 customers.")
	b.WaitNoText("Bulk One")
	if n := scalar[int](t, e, "SELECT count(*) FROM customers WHERE email IN ('bulk1@example.com', 'bulk2@example.com')"); n != 0 {
		t.Errorf("bulk-deleted customers left: %d", n)
	}
	if n := scalar[int](t, e, "SELECT count(*) FROM customers"); n != 2 {
		t.Errorf("customers after the bulk delete: %d, want 2 (Grace, Karl)", n)
	}
	b.Screenshot("customers-bulk-deleted")

	// Create a license for the product; the product's defaults load in.
	b.Open("/admin/licenses/new")
	b.Fill("#license-product", product.ReferenceID)
	b.FillForm("form.license-form", "customer_id", "grace-client", "email", "grace@example.com", "parallel_uses", "3")
	b.Screenshot("license-new")
	b.ClickButton("Save")
	b.WaitPath(`^/admin/licenses/\d+$`)
	b.WaitText("created.")
	code := scalar[string](t, e, "SELECT license_code FROM licenses WHERE email = 'grace@example.com'")
	b.WaitText("License " + code + " created.")
	b.WaitText("Widget Pro")
	b.Screenshot("license-created")

	// Block it, confirming first.
	b.ClickButton("Block")
	b.ConfirmDialog("Block license " + code + "?")
	b.WaitText("License " + code + " blocked")
	b.WaitVisible(".badge-blocked")
	if valid := scalar[bool](t, e, "SELECT is_valid FROM licenses WHERE license_code = ?", code); valid {
		t.Error("license still valid after blocking")
	}
	b.Screenshot("license-blocked")

	b.Open("/admin/licenses?status=blocked")
	b.WaitText(code)
	if !regexp.MustCompile(`blocked`).MatchString(b.Text("#licenses-results tbody")) {
		t.Error("blocked filter does not show the license as blocked")
	}
	b.Screenshot("licenses-blocked")

	// The dashboard draws its four charts: each an SVG of real size, with
	// coloured shapes (the stylesheet applied) and, for the charts over
	// days, labelled axes.
	// Import a CSV of customers with one bad row: the preview lists it with
	// its line and reason, and the good rows are imported by the job.
	csv := filepath.Join(t.TempDir(), "customers.csv")
	if err := os.WriteFile(csv, []byte("name,email,client_id,password\n"+
		"Imported One,imp1@example.com,,\n"+
		"Imported Two,not-an-email,,\n"+
		"Imported Three,imp3@example.com,,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Open("/admin/imports")
	b.WaitText("Upload a file")
	b.Screenshot("imports")
	b.Fill("#import-kind", "customers")
	b.Upload("#import-file", csv)
	b.ClickButton("Preview")
	b.WaitPath(`^/admin/imports/\d+$`)
	b.WaitText("Bad rows (1)")
	if bad := b.Text("#import-problems tbody"); !strings.Contains(bad, "3") || !strings.Contains(bad, "email") {
		t.Errorf("bad rows table does not name line 3 and its email: %q", bad)
	}
	b.Screenshot("import-preview")
	if n := scalar[int](t, e, "SELECT count(*) FROM customers WHERE email LIKE 'imp%@example.com'"); n != 0 {
		t.Fatalf("the preview wrote %d customers", n)
	}
	b.ClickButton("Import good rows")
	b.WaitText("Import finished")
	b.WaitText("Done: 2 inserted")
	if n := scalar[int](t, e, "SELECT count(*) FROM customers WHERE email IN ('imp1@example.com', 'imp3@example.com')"); n != 2 {
		t.Errorf("imported good rows: %d, want 2", n)
	}
	if n := scalar[int](t, e, "SELECT count(*) FROM customers WHERE name = 'Imported Two'"); n != 0 {
		t.Error("the bad row was imported")
	}
	b.Screenshot("import-done")

	// The API counts calls in memory and writes them within a second.
	eventually.True(t, 10*time.Second, "the API's call counts written", func() bool {
		return scalar[int](t, e, "SELECT count(*) FROM api_call_counts") > 0
	})
	b.Open("/admin")
	b.WaitText("Activations over time")
	for _, name := range []string{"activations", "customers", "licenses-status", "api-calls"} {
		checkChart(t, b, name)
	}
	if total := b.Text(`.chart[data-chart="licenses-status"] .donut-total`); total != "2" {
		t.Errorf("licenses donut total %q, want 2 (Karl's active license, Grace's blocked one)", total)
	}
	for _, chart := range []string{"activations", "api-calls", "customers"} {
		if n := b.Count(`.chart[data-chart="` + chart + `"] .empty-label`); n != 0 {
			t.Errorf("chart %s says it has no data", chart)
		}
	}
	// Nothing (such as the charts' hidden data tables) stretches the page
	// into a blank area below its content.
	if extra := browsertest.Eval[float64](b, `document.documentElement.scrollHeight - document.querySelector(".workspace").getBoundingClientRect().height`); extra > 2 {
		t.Errorf("the dashboard scrolls %g px past its content", extra)
	}
	b.Screenshot("dashboard-charts")
	b.ScreenshotOf(`.dashboard-grid`, "dashboard-charts-close")
}

// checkChart checks that the dashboard chart name is drawn.
func checkChart(t *testing.T, b *browsertest.Browser, name string) {
	t.Helper()
	sel := `.chart[data-chart="` + name + `"] svg`
	b.WaitVisible(sel)
	type box struct{ Width, Height float64 }
	size := browsertest.Eval[box](b, `(function(){ const r = document.querySelector(`+"`"+sel+"`"+`).getBoundingClientRect(); return {Width: r.width, Height: r.height}; })()`)
	if size.Width < 150 || size.Height < 100 {
		t.Errorf("chart %s is %gx%g px", name, size.Width, size.Height)
	}
	coloured := browsertest.Eval[int](b, `[...document.querySelectorAll(`+"`"+`.chart[data-chart="`+name+`"] :is(.line, .bar, .slice)`+"`"+`)].filter(el => {
		const st = getComputedStyle(el);
		return [st.stroke, st.fill].some(c => c.startsWith("rgb") && c !== "rgb(0, 0, 0)");
	}).length`)
	if coloured == 0 {
		t.Errorf("chart %s has no coloured line, bar or slice", name)
	}
	if name != "licenses-status" {
		if n := b.Count(`.chart[data-chart="` + name + `"] text.tick-label`); n < 4 {
			t.Errorf("chart %s has %d axis labels", name, n)
		}
	}
}
