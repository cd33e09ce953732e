package admin

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/web"
)

// Register mounts the console on router, the /admin group, which must
// already run the admin session and CSRF middleware.
//
// Every route after requireAdmin names the permission it needs (h.need),
// checked before the handler reads anything; the admin's own account,
// two-factor set-up and signing out need none. app/server's authorisation
// matrix asks every route as every built-in role.
func Register(router fiber.Router, deps Deps) {
	h := newHandlers(deps)
	// get and post mount a route that needs p, and remember it, so lists
	// offer only the bulk actions and links the admin may use (allowed).
	get := func(path string, p admins.Permission, handler fiber.Handler) {
		router.Get(path, h.need(p), handler)
		h.routePerms.add(fiber.MethodGet, "/admin"+path, p)
	}
	post := func(path string, p admins.Permission, handler fiber.Handler) {
		router.Post(path, h.need(p), handler)
		h.routePerms.add(fiber.MethodPost, "/admin"+path, p)
	}

	router.Get("/login", h.loginForm)
	router.Post("/login", h.login)
	router.Get("/login/two-factor", h.twoFactorForm)
	router.Post("/login/two-factor", h.twoFactorLogin)
	router.Get("/password/forgot", h.forgotForm)
	router.Post("/password/forgot", h.forgot)
	router.Get("/password/reset/:token", h.resetForm)
	router.Post("/password/reset/:token", h.reset)
	router.Get("/invitation/:token", h.invitationForm)
	router.Post("/invitation/:token", h.acceptInvitation)

	// Everything below needs a signed-in admin.
	router.Use(h.requireAdmin)
	// An upload's body is read only now (web.BodyLimit left it unread).
	router.Use(web.ReadBody)
	router.Post("/logout", h.logout)
	router.Get("/", h.dashboard)
	// The global search: every admin; it shows only the kinds the admin's
	// role may view (search.go).
	router.Get("/search", h.search)

	// The admin's own account: every role.
	router.Get("/account", h.account)
	router.Post("/account/profile", h.accountProfile)
	router.Post("/account/email", h.accountEmail)
	router.Get("/account/email/confirm/:token", h.accountEmailConfirm)
	router.Post("/account/password", h.accountPassword)
	router.Post("/account/avatar", h.accountAvatar)
	router.Post("/account/avatar/delete", h.accountAvatarDelete)
	router.Get("/account/avatar", h.accountAvatarImage)
	router.Post("/account/sessions/:id/end", h.accountSessionEnd)
	router.Post("/account/sessions/end-others", h.accountSessionsEndOthers)
	router.Get("/account/two-factor", h.twoFactorSetup)
	router.Post("/account/two-factor", h.twoFactorEnrol)
	router.Post("/account/two-factor/confirm", h.twoFactorConfirm)
	router.Post("/account/two-factor/recovery-codes", h.twoFactorNewRecoveryCodes)
	router.Post("/account/two-factor/disable", h.twoFactorDisable)

	get("/users", admins.UsersManage, h.usersIndex)
	get("/users/invite", admins.UsersManage, h.userInviteForm)
	post("/users/invite", admins.UsersManage, h.userInvite)
	get("/users/:id/edit", admins.UsersManage, h.userEdit)
	post("/users/:id/edit", admins.UsersManage, h.userUpdate)
	post("/users/:id/disable", admins.UsersManage, h.userDisable)
	post("/users/:id/enable", admins.UsersManage, h.userEnable)
	post("/users/:id/delete", admins.UsersManage, h.userDelete)
	post("/users/:id/resend-invitation", admins.UsersManage, h.userResendInvitation)
	post("/users/:id/reset-two-factor", admins.UsersManage, h.userResetTwoFactor)
	post("/users/:id/sign-out", admins.UsersManage, h.userSignOut)

	get("/roles", admins.RolesManage, h.rolesIndex)
	get("/roles/new", admins.RolesManage, h.roleNew)
	post("/roles", admins.RolesManage, h.roleCreate)
	get("/roles/:id/edit", admins.RolesManage, h.roleEdit)
	post("/roles/:id/edit", admins.RolesManage, h.roleUpdate)
	post("/roles/:id/delete", admins.RolesManage, h.roleDelete)

	get("/customers", admins.CustomersView, h.customersIndex)
	get("/customers/new", admins.CustomersCreate, h.customerNew)
	get("/customers/export", admins.CustomersExport, h.customersExport)
	post("/customers", admins.CustomersCreate, h.customerCreate)
	post("/customers/bulk-delete", admins.CustomersDelete, h.customersBulkDelete)
	get("/customers/:id", admins.CustomersView, h.customerShow)
	get("/customers/:id/edit", admins.CustomersEdit, h.customerEdit)
	get("/customers/:id/avatar", admins.CustomersView, h.customerAvatar)
	post("/customers/:id/edit", admins.CustomersEdit, h.customerUpdate)
	get("/customers/:id/client-id-impact", admins.CustomersEdit, h.customerClientIDImpact)
	post("/customers/:id/delete", admins.CustomersDelete, h.customerDelete)
	post("/customers/:id/send-password-reset", admins.CustomersEdit, h.customerSendPasswordReset)
	post("/customers/:id/resend-confirmation", admins.CustomersEdit, h.customerResendConfirmation)

	get("/products", admins.ProductsView, h.productsIndex)
	get("/products/new", admins.ProductsCreate, h.productNew)
	post("/products", admins.ProductsCreate, h.productCreate)
	post("/products/bulk-activate", admins.ProductsEdit, h.productsBulkActivate)
	post("/products/bulk-deactivate", admins.ProductsEdit, h.productsBulkDeactivate)
	post("/products/bulk-delete", admins.ProductsDelete, h.productsBulkDelete)
	get("/products/:id", admins.ProductsView, h.productShow)
	get("/products/:id/edit", admins.ProductsEdit, h.productEdit)
	post("/products/:id/edit", admins.ProductsEdit, h.productUpdate)
	post("/products/:id/activate", admins.ProductsEdit, h.productActivate)
	post("/products/:id/deactivate", admins.ProductsEdit, h.productDeactivate)
	get("/products/:id/delete", admins.ProductsDelete, h.productDeleteDialog)
	post("/products/:id/delete", admins.ProductsDelete, h.productDelete)
	// The license form's defaults: whoever creates or edits licenses.
	get("/products/:id/defaults", admins.ProductsView, h.productDefaultsJSON)
	get("/products/:id/versions/new", admins.VersionsUpload, h.versionNew)
	post("/products/:id/versions", admins.VersionsUpload, h.versionCreate)
	get("/products/:id/versions/:vid", admins.ProductsView, h.versionShow)
	get("/products/:id/versions/:vid/edit", admins.VersionsUpload, h.versionEdit)
	post("/products/:id/versions/:vid/edit", admins.VersionsUpload, h.versionUpdate)
	post("/products/:id/versions/:vid/publish", admins.VersionsPublish, h.versionPublish)
	post("/products/:id/versions/:vid/unpublish", admins.VersionsPublish, h.versionUnpublish)
	post("/products/:id/versions/:vid/delete", admins.VersionsDelete, h.versionDelete)
	get("/products/:id/versions/:vid/files/:type", admins.ProductsView, h.versionFile)

	get("/licenses", admins.LicensesView, h.licensesIndex)
	get("/licenses/new", admins.LicensesCreate, h.licenseNew)
	get("/licenses/export", admins.LicensesExport, h.licensesExport)
	post("/licenses", admins.LicensesCreate, h.licenseCreate)
	post("/licenses/bulk-block", admins.LicensesEdit, h.licensesBulkBlock)
	post("/licenses/bulk-unblock", admins.LicensesEdit, h.licensesBulkUnblock)
	post("/licenses/bulk-delete", admins.LicensesDelete, h.licensesBulkDelete)
	post("/licenses/bulk-send-details", admins.LicensesEmail, h.licensesBulkSendDetails)
	get("/licenses/generate", admins.LicensesCreate, h.licensesGenerateForm)
	post("/licenses/generate", admins.LicensesCreate, h.licensesGenerate)
	get("/licenses/generated", admins.LicensesCreate, h.licensesGenerated)
	get("/licenses/generated/csv", admins.LicensesCreate, h.licensesGeneratedCSV)
	get("/licenses/:id", admins.LicensesView, h.licenseShow)
	get("/licenses/:id/file", admins.LicensesView, h.licenseFile)
	get("/licenses/:id/edit", admins.LicensesEdit, h.licenseEdit)
	post("/licenses/:id/edit", admins.LicensesEdit, h.licenseUpdate)
	post("/licenses/:id/block", admins.LicensesEdit, h.licenseBlock)
	post("/licenses/:id/renew", admins.LicensesEdit, h.licenseRenew)
	post("/licenses/:id/unblock", admins.LicensesEdit, h.licenseUnblock)
	get("/licenses/:id/delete", admins.LicensesDelete, h.licenseDeleteDialog)
	post("/licenses/:id/delete", admins.LicensesDelete, h.licenseDelete)
	post("/licenses/:id/send-details", admins.LicensesEmail, h.licenseSendDetails)
	post("/licenses/:id/activations/:activation/deactivate", admins.ActivationsEdit, h.licenseActivationDeactivate)

	get("/offline-activation", admins.ActivationsEdit, h.offlinePage)
	post("/offline-activation", admins.ActivationsEdit, h.offlineActivate)
	post("/offline-activation/release", admins.ActivationsEdit, h.offlineRelease)
	get("/activations", admins.ActivationsView, h.activationsIndex)
	post("/activations/bulk-deactivate", admins.ActivationsEdit, h.activationsBulkDeactivate)
	post("/activations/bulk-delete", admins.ActivationsDelete, h.activationsBulkDelete)
	get("/activations/:id", admins.ActivationsView, h.activationShow)
	post("/activations/:id/activate", admins.ActivationsEdit, h.activationMarkActive)
	post("/activations/:id/deactivate", admins.ActivationsEdit, h.activationMarkInactive)
	post("/activations/:id/delete", admins.ActivationsDelete, h.activationDelete)

	// Imports: the page needs one of the two import permissions; each
	// import then needs its kind's (imports.go).
	router.Get("/imports", h.needImport, h.importsIndex)
	router.Post("/imports", h.needImport, h.importUpload)
	router.Get("/imports/examples/:kind/:format", h.needImport, h.importExample)
	router.Get("/imports/:id", h.needImport, h.importShow)
	router.Post("/imports/:id/start", h.needImport, h.importStart)
	router.Post("/imports/:id/cancel", h.needImport, h.importCancel)

	get("/activity", admins.LogsView, h.activityIndex)
	post("/activity/bulk-delete", admins.SettingsGeneral, h.activityBulkDelete)

	get("/downloads", admins.LogsView, h.downloadsIndex)
	post("/downloads/bulk-delete", admins.SettingsGeneral, h.downloadsBulkDelete)
	get("/reports/top-customers", admins.ReportsView, h.topCustomersReport)

	router.Get("/settings", h.settingsRoot)
	get("/settings/signing-keys", admins.SettingsSigningKeys, h.signingKeys)
	post("/settings/signing-keys/rotate", admins.SettingsSigningKeys, h.signingKeysRotate)
	router.Get("/settings/:group", h.needSettings, h.settingsGroup)
	router.Post("/settings/:group", h.needSettings, h.settingsSave)
	post("/settings/updates/release-keys", admins.SettingsSigningKeys, h.releaseKeyAdd)
	post("/settings/updates/release-keys/:id/revoke", admins.SettingsSigningKeys, h.releaseKeyRevoke)

	get("/api-keys", admins.APIKeysView, h.apiKeysIndex)
	get("/api-keys/new", admins.APIKeysManage, h.apiKeyNew)
	post("/api-keys", admins.APIKeysManage, h.apiKeyCreate)
	post("/api-keys/bulk-revoke", admins.APIKeysManage, h.apiKeysBulkRevoke)
	post("/api-keys/bulk-delete", admins.APIKeysManage, h.apiKeysBulkDelete)
	post("/api-keys/:id/revoke", admins.APIKeysManage, h.apiKeyRevoke)
	post("/api-keys/:id/delete", admins.APIKeysManage, h.apiKeyDelete)

	get("/plugins", admins.PluginsManage, h.pluginsIndex)
	get("/plugins/:name", admins.PluginsManage, h.pluginShow)
	post("/plugins/:name/settings", admins.PluginsManage, h.pluginSave)
	post("/plugins/:name/enable", admins.PluginsManage, h.pluginEnable)
	post("/plugins/:name/disable", admins.PluginsManage, h.pluginDisable)
	post("/plugins/:name/use-captcha", admins.PluginsManage, h.pluginUseCaptcha)
	post("/plugins/:name/webhook-secret", admins.PluginsManage, h.pluginRotateSecret)
	post("/plugins/:name/mappings", admins.PluginsManage, h.pluginMappingAdd)
	post("/plugins/:name/mappings/delete", admins.PluginsManage, h.pluginMappingDelete)

	get("/mail", admins.MailView, h.mailIndex)
	get("/mail/:id", admins.MailView, h.mailShow)
	get("/mail/:id/html", admins.MailView, h.mailHTML)

	get("/webhooks", admins.WebhooksView, h.webhooksIndex)
	post("/webhooks/test", admins.WebhooksManage, h.webhookTest)
	get("/webhooks/:id", admins.WebhooksView, h.webhookShow)
	post("/webhooks/:id/resend", admins.WebhooksManage, h.webhookResend)

	get("/tools/cron", admins.JobsView, h.cronPage)
	post("/tools/cron/expiry-scan", admins.JobsManage, h.cronExpiryScan)
	post("/tools/cron/blacklist-scan", admins.JobsManage, h.cronBlacklistScan)
	post("/tools/cron/blacklist/remove", admins.SettingsGeneral, h.cronUnblock)

	// River's web UI: its pages, assets and JSON API (jobs.UIPrefix);
	// reading needs jobs.view, any change jobs.manage.
	jobsUI := h.jobsUI(deps.JobsUI)
	router.All("/jobs", h.needJobs, jobsUI)
	router.All("/jobs/*", h.needJobs, jobsUI)
}

// needImport lets through admins who may import customers or licenses.
func (h *handlers) needImport(c fiber.Ctx) error {
	if a := currentAdmin(c); a.Can(admins.CustomersImport) {
		return c.Next()
	}
	return h.check(c, admins.LicensesImport)
}
