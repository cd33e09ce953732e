package admins

import "slices"

// Permission is one thing a role may do in the console
// (docs/features.md#admin-console). Every console route needs one
// (app/admin/routes.go), apart from the
// admin's own account and signing out.
type Permission string

// The permissions, by area. A ".view" permission opens an area's pages;
// the others its actions.
const (
	CustomersView   Permission = "customers.view"
	CustomersCreate Permission = "customers.create"
	CustomersEdit   Permission = "customers.edit"
	CustomersDelete Permission = "customers.delete"
	CustomersImport Permission = "customers.import"
	CustomersExport Permission = "customers.export"

	ProductsView   Permission = "products.view"
	ProductsCreate Permission = "products.create"
	ProductsEdit   Permission = "products.edit"
	ProductsDelete Permission = "products.delete"

	VersionsUpload  Permission = "versions.upload"
	VersionsPublish Permission = "versions.publish"
	VersionsDelete  Permission = "versions.delete"

	LicensesView   Permission = "licenses.view"
	LicensesCreate Permission = "licenses.create"
	LicensesEdit   Permission = "licenses.edit"
	LicensesDelete Permission = "licenses.delete"
	LicensesEmail  Permission = "licenses.email"
	LicensesExport Permission = "licenses.export"
	LicensesImport Permission = "licenses.import"

	ActivationsView   Permission = "activations.view"
	ActivationsEdit   Permission = "activations.edit"
	ActivationsDelete Permission = "activations.delete"

	APIKeysView   Permission = "api_keys.view"
	APIKeysManage Permission = "api_keys.manage"

	SettingsGeneral     Permission = "settings.general"
	SettingsAPI         Permission = "settings.api"
	SettingsMigration   Permission = "settings.migration"
	SettingsSigningKeys Permission = "settings.signing_keys"

	PluginsManage Permission = "plugins.manage"

	WebhooksView   Permission = "webhooks.view"
	WebhooksManage Permission = "webhooks.manage"

	MailView Permission = "mail.view"

	JobsView   Permission = "jobs.view"
	JobsManage Permission = "jobs.manage"

	ReportsView Permission = "reports.view"
	LogsView    Permission = "logs.view"

	UsersManage Permission = "users.manage"
	RolesManage Permission = "roles.manage"
)

// PermissionInfo is a permission with what the roles form says of it.
type PermissionInfo struct {
	Permission Permission
	Label      string
	// Secret: the pages it opens show secrets or can take over accounts
	// (mail bodies hold reset links), so Read-only lacks it.
	Secret bool
}

// PermissionGroup is one area's permissions, in the form's order.
type PermissionGroup struct {
	Area        string
	Permissions []PermissionInfo
}

// PermissionGroups lists every permission by area. The slice is the
// caller's.
func PermissionGroups() []PermissionGroup {
	return []PermissionGroup{
		{"Customers", []PermissionInfo{{CustomersView, "View", false}, {CustomersCreate, "Create", false}, {CustomersEdit, "Edit (and send password reset or confirmation)", false}, {CustomersDelete, "Delete", false}, {CustomersImport, "Import", false}, {CustomersExport, "Export", false}}},
		{"Products", []PermissionInfo{{ProductsView, "View", false}, {ProductsCreate, "Create", false}, {ProductsEdit, "Edit", false}, {ProductsDelete, "Delete", false}}},
		{"Versions", []PermissionInfo{{VersionsUpload, "Upload and edit", false}, {VersionsPublish, "Publish", false}, {VersionsDelete, "Delete", false}}},
		{"Licenses", []PermissionInfo{{LicensesView, "View", false}, {LicensesCreate, "Create and generate", false}, {LicensesEdit, "Edit, block, unblock", false}, {LicensesDelete, "Delete", false}, {LicensesEmail, "Send email", false}, {LicensesExport, "Export", false}, {LicensesImport, "Import", false}}},
		{"Activations", []PermissionInfo{{ActivationsView, "View", false}, {ActivationsEdit, "Activate and deactivate", false}, {ActivationsDelete, "Delete", false}}},
		{"API keys", []PermissionInfo{{APIKeysView, "View (prefixes only)", false}, {APIKeysManage, "Create, revoke, delete", true}}},
		{"Settings", []PermissionInfo{{SettingsGeneral, "General (every group but API and migration)", true}, {SettingsAPI, "API", true}, {SettingsMigration, "Migration", true}, {SettingsSigningKeys, "Signing and release keys", true}}},
		{"Plugins", []PermissionInfo{{PluginsManage, "View and configure", true}}},
		{"Webhooks", []PermissionInfo{{WebhooksView, "View deliveries", false}, {WebhooksManage, "Resend and send test events", false}}},
		{"Mail", []PermissionInfo{{MailView, "View the outbox (holds sign-in links)", true}}},
		{"Jobs", []PermissionInfo{{JobsView, "View background jobs", false}, {JobsManage, "Retry, cancel, delete jobs; run the cron tasks", false}}},
		{"Reports and logs", []PermissionInfo{{ReportsView, "Reports", false}, {LogsView, "Activity and download logs", false}}},
		{"Admin accounts", []PermissionInfo{{UsersManage, "Admin users (invite, edit, disable, delete, reset 2FA)", true}, {RolesManage, "Roles", true}}},
	}
}

// AllPermissions lists every permission in the form's order.
func AllPermissions() []Permission {
	var out []Permission
	for _, g := range PermissionGroups() {
		for _, p := range g.Permissions {
			out = append(out, p.Permission)
		}
	}
	return out
}

// ValidPermission reports whether p is a known permission.
func ValidPermission(p Permission) bool {
	return slices.Contains(AllPermissions(), p)
}

// Built-in roles (admin_roles.builtin).
const (
	RoleOwner         = "owner"
	RoleAdministrator = "administrator"
	RoleSupport       = "support"
	RoleReadOnly      = "read_only"
)

// BuiltinRoles lists the built-in roles' keys, most powerful first.
func BuiltinRoles() []string {
	return []string{RoleOwner, RoleAdministrator, RoleSupport, RoleReadOnly}
}

// builtinPermissions is what each built-in role may do. Owner has every
// permission; Administrator all but users and roles; Support works with
// customers and licenses; Read-only views what is not secret.
func builtinPermissions(key string) []Permission {
	switch key {
	case RoleOwner:
		return AllPermissions()
	case RoleAdministrator:
		return slices.DeleteFunc(AllPermissions(), func(p Permission) bool { return p == UsersManage || p == RolesManage })
	case RoleSupport:
		return []Permission{
			CustomersView, CustomersCreate, CustomersEdit,
			LicensesView, LicensesCreate, LicensesEdit, LicensesEmail,
			ActivationsView, ActivationsEdit,
			ProductsView,
		}
	case RoleReadOnly:
		var out []Permission
		for _, g := range PermissionGroups() {
			for _, p := range g.Permissions {
				if !p.Secret && isView(p.Permission) {
					out = append(out, p.Permission)
				}
			}
		}
		return out
	}
	return nil
}

// isView reports whether p only opens pages.
func isView(p Permission) bool {
	switch p {
	case CustomersView, ProductsView, LicensesView, ActivationsView, APIKeysView, WebhooksView, MailView, JobsView, ReportsView, LogsView:
		return true
	}
	return false
}
