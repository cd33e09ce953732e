package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

// self: a route every signed-in admin may use (their own account,
// two-factor set-up, signing out, the dashboard).
const self = ""

// consolePermissions is the permission each console route needs: the
// matrix asks every route as every built-in role, and a route missing
// here fails it, so a new route is placed in it before it ships.
var consolePermissions = map[string]admins.Permission{
	"POST /admin/logout": self, "GET /admin/": self,
	// The global search shows each kind only to roles that may view it.
	"GET /admin/search": self,

	"GET /admin/account": self, "POST /admin/account/profile": self, "POST /admin/account/email": self,
	"GET /admin/account/email/confirm/:token": self, "POST /admin/account/password": self,
	"POST /admin/account/avatar": self, "POST /admin/account/avatar/delete": self, "GET /admin/account/avatar": self,
	"POST /admin/account/sessions/:id/end": self, "POST /admin/account/sessions/end-others": self,
	"GET /admin/account/two-factor": self, "POST /admin/account/two-factor": self, "POST /admin/account/two-factor/confirm": self,
	"POST /admin/account/two-factor/recovery-codes": self, "POST /admin/account/two-factor/disable": self,

	"GET /admin/users": admins.UsersManage, "GET /admin/users/invite": admins.UsersManage, "POST /admin/users/invite": admins.UsersManage,
	"GET /admin/users/:id/edit": admins.UsersManage, "POST /admin/users/:id/edit": admins.UsersManage,
	"POST /admin/users/:id/disable": admins.UsersManage, "POST /admin/users/:id/enable": admins.UsersManage,
	"POST /admin/users/:id/delete": admins.UsersManage, "POST /admin/users/:id/resend-invitation": admins.UsersManage,
	"POST /admin/users/:id/reset-two-factor": admins.UsersManage, "POST /admin/users/:id/sign-out": admins.UsersManage,

	"GET /admin/roles": admins.RolesManage, "GET /admin/roles/new": admins.RolesManage, "POST /admin/roles": admins.RolesManage,
	"GET /admin/roles/:id/edit": admins.RolesManage, "POST /admin/roles/:id/edit": admins.RolesManage, "POST /admin/roles/:id/delete": admins.RolesManage,

	"GET /admin/customers": admins.CustomersView, "GET /admin/customers/new": admins.CustomersCreate,
	"GET /admin/customers/export": admins.CustomersExport, "POST /admin/customers": admins.CustomersCreate,
	"POST /admin/customers/bulk-delete": admins.CustomersDelete, "GET /admin/customers/:id": admins.CustomersView,
	"GET /admin/customers/:id/edit": admins.CustomersEdit, "GET /admin/customers/:id/avatar": admins.CustomersView,
	"POST /admin/customers/:id/edit": admins.CustomersEdit, "GET /admin/customers/:id/client-id-impact": admins.CustomersEdit, "POST /admin/customers/:id/delete": admins.CustomersDelete,
	"POST /admin/customers/:id/send-password-reset": admins.CustomersEdit, "POST /admin/customers/:id/resend-confirmation": admins.CustomersEdit,

	"GET /admin/products": admins.ProductsView, "GET /admin/products/new": admins.ProductsCreate, "POST /admin/products": admins.ProductsCreate,
	"POST /admin/products/bulk-activate": admins.ProductsEdit, "POST /admin/products/bulk-deactivate": admins.ProductsEdit,
	"POST /admin/products/bulk-delete": admins.ProductsDelete, "GET /admin/products/:id": admins.ProductsView,
	"GET /admin/products/:id/edit": admins.ProductsEdit, "POST /admin/products/:id/edit": admins.ProductsEdit,
	"POST /admin/products/:id/activate": admins.ProductsEdit, "POST /admin/products/:id/deactivate": admins.ProductsEdit,
	"POST /admin/products/:id/delete": admins.ProductsDelete, "GET /admin/products/:id/delete": admins.ProductsDelete, "GET /admin/products/:id/defaults": admins.ProductsView,
	"GET /admin/products/:id/versions/new": admins.VersionsUpload, "POST /admin/products/:id/versions": admins.VersionsUpload,
	"GET /admin/products/:id/versions/:vid": admins.ProductsView, "GET /admin/products/:id/versions/:vid/edit": admins.VersionsUpload,
	"POST /admin/products/:id/versions/:vid/edit": admins.VersionsUpload, "POST /admin/products/:id/versions/:vid/publish": admins.VersionsPublish,
	"POST /admin/products/:id/versions/:vid/unpublish": admins.VersionsPublish, "POST /admin/products/:id/versions/:vid/delete": admins.VersionsDelete,
	"GET /admin/products/:id/versions/:vid/files/:type": admins.ProductsView,

	"GET /admin/licenses": admins.LicensesView, "GET /admin/licenses/new": admins.LicensesCreate,
	"GET /admin/licenses/export": admins.LicensesExport, "POST /admin/licenses": admins.LicensesCreate,
	"POST /admin/licenses/bulk-block": admins.LicensesEdit, "POST /admin/licenses/bulk-unblock": admins.LicensesEdit,
	"POST /admin/licenses/bulk-delete": admins.LicensesDelete, "POST /admin/licenses/bulk-send-details": admins.LicensesEmail,
	"GET /admin/licenses/generate": admins.LicensesCreate, "POST /admin/licenses/generate": admins.LicensesCreate,
	"GET /admin/licenses/generated": admins.LicensesCreate, "GET /admin/licenses/generated/csv": admins.LicensesCreate,
	"GET /admin/licenses/:id": admins.LicensesView, "GET /admin/licenses/:id/file": admins.LicensesView, "GET /admin/licenses/:id/edit": admins.LicensesEdit,
	"POST /admin/licenses/:id/edit": admins.LicensesEdit, "POST /admin/licenses/:id/block": admins.LicensesEdit, "POST /admin/licenses/:id/renew": admins.LicensesEdit,
	"POST /admin/licenses/:id/unblock": admins.LicensesEdit, "POST /admin/licenses/:id/delete": admins.LicensesDelete, "GET /admin/licenses/:id/delete": admins.LicensesDelete,
	"POST /admin/licenses/:id/send-details":                       admins.LicensesEmail,
	"POST /admin/licenses/:id/activations/:activation/deactivate": admins.ActivationsEdit,

	"GET /admin/activations": admins.ActivationsView, "POST /admin/activations/bulk-deactivate": admins.ActivationsEdit,
	"POST /admin/activations/bulk-delete": admins.ActivationsDelete, "GET /admin/activations/:id": admins.ActivationsView,
	"POST /admin/activations/:id/activate": admins.ActivationsEdit, "POST /admin/activations/:id/deactivate": admins.ActivationsEdit,
	"POST /admin/activations/:id/delete": admins.ActivationsDelete,
	"GET /admin/offline-activation":      admins.ActivationsEdit, "POST /admin/offline-activation": admins.ActivationsEdit,
	"POST /admin/offline-activation/release": admins.ActivationsEdit,

	// The imports pages need either import permission (the built-in roles
	// have both or neither); each import its kind's (app/admin tests).
	"GET /admin/imports": admins.CustomersImport, "POST /admin/imports": admins.CustomersImport,
	"GET /admin/imports/examples/:kind/:format": admins.CustomersImport, "GET /admin/imports/:id": admins.CustomersImport,
	"POST /admin/imports/:id/start": admins.CustomersImport, "POST /admin/imports/:id/cancel": admins.CustomersImport,

	"GET /admin/activity": admins.LogsView, "POST /admin/activity/bulk-delete": admins.SettingsGeneral,
	"GET /admin/downloads": admins.LogsView, "POST /admin/downloads/bulk-delete": admins.SettingsGeneral,
	"GET /admin/reports/top-customers": admins.ReportsView,

	// The settings root opens the first group the role may; :group is
	// asked as "general" here (the API and migration groups need their
	// own permissions: app/admin tests).
	"GET /admin/settings": admins.SettingsGeneral, "GET /admin/settings/:group": admins.SettingsGeneral,
	"POST /admin/settings/:group":                          admins.SettingsGeneral,
	"GET /admin/settings/signing-keys":                     admins.SettingsSigningKeys,
	"POST /admin/settings/signing-keys/rotate":             admins.SettingsSigningKeys,
	"POST /admin/settings/updates/release-keys":            admins.SettingsSigningKeys,
	"POST /admin/settings/updates/release-keys/:id/revoke": admins.SettingsSigningKeys,

	"GET /admin/api-keys": admins.APIKeysView, "GET /admin/api-keys/new": admins.APIKeysManage, "POST /admin/api-keys": admins.APIKeysManage,
	"POST /admin/api-keys/bulk-revoke": admins.APIKeysManage, "POST /admin/api-keys/bulk-delete": admins.APIKeysManage,
	"POST /admin/api-keys/:id/revoke": admins.APIKeysManage, "POST /admin/api-keys/:id/delete": admins.APIKeysManage,

	"GET /admin/plugins": admins.PluginsManage, "GET /admin/plugins/:name": admins.PluginsManage,
	"POST /admin/plugins/:name/settings": admins.PluginsManage, "POST /admin/plugins/:name/enable": admins.PluginsManage,
	"POST /admin/plugins/:name/disable": admins.PluginsManage, "POST /admin/plugins/:name/use-captcha": admins.PluginsManage,
	"POST /admin/plugins/:name/webhook-secret": admins.PluginsManage, "POST /admin/plugins/:name/mappings": admins.PluginsManage,
	"POST /admin/plugins/:name/mappings/delete": admins.PluginsManage,

	"GET /admin/mail": admins.MailView, "GET /admin/mail/:id": admins.MailView, "GET /admin/mail/:id/html": admins.MailView,

	"GET /admin/webhooks": admins.WebhooksView, "POST /admin/webhooks/test": admins.WebhooksManage,
	"GET /admin/webhooks/:id": admins.WebhooksView, "POST /admin/webhooks/:id/resend": admins.WebhooksManage,

	"GET /admin/tools/cron": admins.JobsView, "POST /admin/tools/cron/expiry-scan": admins.JobsManage,
	"POST /admin/tools/cron/blacklist-scan": admins.JobsManage, "POST /admin/tools/cron/blacklist/remove": admins.SettingsGeneral,

	// River's console: reading needs jobs.view, any change jobs.manage.
	"GET /admin/jobs": admins.JobsView, "GET /admin/jobs/*": admins.JobsView,
	"POST /admin/jobs": admins.JobsManage, "POST /admin/jobs/*": admins.JobsManage,
	"PUT /admin/jobs": admins.JobsManage, "PUT /admin/jobs/*": admins.JobsManage,
	"PATCH /admin/jobs": admins.JobsManage, "PATCH /admin/jobs/*": admins.JobsManage,
	"DELETE /admin/jobs": admins.JobsManage, "DELETE /admin/jobs/*": admins.JobsManage,
}

// roleParam fills a route's parameters for the role matrix: ids that
// exist nowhere (no role may change a real row by accident), a settings
// group, an import kind and format.
var roleParamRE = regexp.MustCompile(`:[A-Za-z_]+\??|\*`)

func roleConcrete(path string) string {
	return roleParamRE.ReplaceAllStringFunc(path, func(p string) string {
		switch p {
		case ":group":
			return "general"
		case ":kind":
			return "customers"
		case ":format":
			return "csv"
		case "*":
			return "x"
		}
		return "999999"
	})
}

// The authorisation matrix by role: every console route asked as every
// built-in role. A role with the route's permission is served (404 for
// the made-up ids is fine, never 403 or 5xx); a role without it gets 403
// with the permission message, before anything is read or changed; a
// console route missing from consolePermissions fails.
func TestAuthorisationMatrixRoles(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	ctx := context.Background()
	var routes []route
	for _, r := range routesOf(t, e) {
		if !strings.HasPrefix(r.path, "/admin") || slices.Contains(publicPages, r.String()) {
			continue
		}
		if _, ok := consolePermissions[r.String()]; !ok {
			t.Errorf("%s is not in the role matrix: add it to consolePermissions (app/server/authz_roles_test.go) with the permission app/admin/routes.go gives it", r)
			continue
		}
		routes = append(routes, r)
	}
	for key := range consolePermissions {
		found := false
		for _, r := range routes {
			if r.String() == key {
				found = true
			}
		}
		if !found {
			t.Errorf("%s is in the role matrix but not registered", key)
		}
	}
	for _, key := range admins.BuiltinRoles() {
		role, err := admins.BuiltinRole(ctx, e.DB.Bun, key)
		if err != nil {
			t.Fatal(err)
		}
		a, err := admins.CreateWithRole(ctx, e.DB.Bun, key, key+"@example.com", "matrix role password", role.ID)
		if err != nil {
			t.Fatal(err)
		}
		c := e.SignInAs(t, a.ID)
		t.Run(key, func(t *testing.T) {
			t.Parallel()
			allowed, refused := 0, 0
			for _, r := range routes {
				if r.path == "/admin/logout" {
					continue // ends the session the matrix runs on
				}
				perm := consolePermissions[r.String()]
				may := perm == self || role.Can(perm)
				res := roleRequest(c, r)
				denied := res.StatusCode == http.StatusForbidden && strings.Contains(res.Body, "Your role does not allow this.")
				switch {
				case may && (res.StatusCode == http.StatusForbidden || res.StatusCode >= 500 || res.StatusCode == http.StatusUnauthorized):
					t.Errorf("%s %s: %d, want served\n%.300s", key, r, res.StatusCode, res.Body)
				case !may && !denied:
					t.Errorf("%s %s: %d, want 403 (lacks %s)", key, r, res.StatusCode, perm)
				case !may && !unsafe(r.method):
					// The fragment an htmx request asks for is refused alike.
					if hx := c.Get(roleConcrete(r.path), "HX-Request", "true"); hx.StatusCode != http.StatusForbidden {
						t.Errorf("%s %s as htmx: %d, want 403", key, r, hx.StatusCode)
					}
				}
				if may {
					allowed++
				} else {
					refused++
				}
			}
			t.Logf("%s: %d routes served, %d refused", key, allowed, refused)
		})
	}
}

// roleRequest asks r as c with its CSRF token and an empty form.
func roleRequest(c *webtest.Client, r route) *webtest.Response {
	path := roleConcrete(r.path)
	if !unsafe(r.method) {
		return c.Get(path)
	}
	if r.method == http.MethodPost {
		return c.PostForm(path, url.Values{})
	}
	req, _ := http.NewRequest(r.method, path, strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", c.CSRF)
	return c.Do(req)
}
