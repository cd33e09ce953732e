package browsertest_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/web/browsertest"
)

// The console as an admin works through it (issue #4, Tests): sign in,
// create a customer, find it with the search box, open it, bulk delete two
// customers, create a license and block it.
func TestConsole(t *testing.T) {
	e := browsertest.New(t)
	product := newProduct(t, e, "Widget Pro", "WIDGETPRO")
	newCustomer(t, e, "Bulk One", "bulk1@example.com", "bulk one password")
	newCustomer(t, e, "Bulk Two", "bulk2@example.com", "bulk two password")
	newCustomer(t, e, "Kept Karl", "karl@example.com", "kept karl password")

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
	b.FillForm("form.customer-form", "name", "Grace Hopper", "email", "grace@example.com", "password", "grace hopper password")
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
	if n := b.Count("#customer-results tbody tr"); n != 1 {
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
	b.ClickButton("Delete selected")
	b.WaitDialog("Delete 2 selected customer(s)?")
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
	b.WaitDialog("Block license " + code + "?")
	b.WaitText("License " + code + " blocked")
	b.WaitVisible(".badge-blocked")
	if valid := scalar[bool](t, e, "SELECT is_valid FROM licenses WHERE license_code = ?", code); valid {
		t.Error("license still valid after blocking")
	}
	b.Screenshot("license-blocked")

	b.Open("/admin/licenses?status=blocked")
	b.WaitText(code)
	if !regexp.MustCompile(`blocked`).MatchString(b.Text("#license-results tbody")) {
		t.Error("blocked filter does not show the license as blocked")
	}
	b.Screenshot("licenses-blocked")
	if d := b.Dialogs(); len(d) != 2 || !strings.Contains(d[0], "customer") {
		t.Errorf("dialogs: %q", d)
	}
}
