package admin

import "github.com/gofiber/fiber/v3"

// Register mounts the console on router, the /admin group, which must
// already run the admin session and CSRF middleware.
func Register(router fiber.Router, deps Deps) {
	h := newHandlers(deps)

	router.Get("/login", h.loginForm)
	router.Post("/login", h.login)

	// Everything below needs a signed-in admin.
	router.Use(h.requireAdmin)
	router.Post("/logout", h.logout)
	router.Get("/", h.dashboard)

	router.Get("/customers", h.customersIndex)
	router.Get("/customers/new", h.customerNew)
	router.Get("/customers/export", h.customersExport)
	router.Post("/customers", h.customerCreate)
	router.Post("/customers/bulk-delete", h.customersBulkDelete)
	router.Get("/customers/:id", h.customerShow)
	router.Get("/customers/:id/edit", h.customerEdit)
	router.Get("/customers/:id/avatar", h.customerAvatar)
	router.Post("/customers/:id/edit", h.customerUpdate)
	router.Post("/customers/:id/delete", h.customerDelete)
	router.Post("/customers/:id/send-password-reset", h.customerSendPasswordReset)
	router.Post("/customers/:id/resend-confirmation", h.customerResendConfirmation)

	router.Get("/products", h.productsIndex)
	router.Get("/products/new", h.productNew)
	router.Post("/products", h.productCreate)
	router.Post("/products/bulk-activate", h.productsBulkActivate)
	router.Post("/products/bulk-deactivate", h.productsBulkDeactivate)
	router.Post("/products/bulk-delete", h.productsBulkDelete)
	router.Get("/products/:id", h.productShow)
	router.Get("/products/:id/edit", h.productEdit)
	router.Post("/products/:id/edit", h.productUpdate)
	router.Post("/products/:id/activate", h.productActivate)
	router.Post("/products/:id/deactivate", h.productDeactivate)
	router.Post("/products/:id/delete", h.productDelete)
	router.Get("/products/:id/defaults", h.productDefaultsJSON)

	router.Get("/licenses", h.licensesIndex)
	router.Get("/licenses/new", h.licenseNew)
	router.Get("/licenses/export", h.licensesExport)
	router.Post("/licenses", h.licenseCreate)
	router.Post("/licenses/bulk-block", h.licensesBulkBlock)
	router.Post("/licenses/bulk-unblock", h.licensesBulkUnblock)
	router.Post("/licenses/bulk-delete", h.licensesBulkDelete)
	router.Post("/licenses/bulk-send-details", h.licensesBulkSendDetails)
	router.Get("/licenses/generate", h.licensesGenerateForm)
	router.Post("/licenses/generate", h.licensesGenerate)
	router.Get("/licenses/generated", h.licensesGenerated)
	router.Get("/licenses/generated/csv", h.licensesGeneratedCSV)
	router.Get("/licenses/:id", h.licenseShow)
	router.Get("/licenses/:id/edit", h.licenseEdit)
	router.Post("/licenses/:id/edit", h.licenseUpdate)
	router.Post("/licenses/:id/block", h.licenseBlock)
	router.Post("/licenses/:id/unblock", h.licenseUnblock)
	router.Post("/licenses/:id/delete", h.licenseDelete)
	router.Post("/licenses/:id/send-details", h.licenseSendDetails)
	router.Post("/licenses/:id/activations/:activation/deactivate", h.licenseActivationDeactivate)

	router.Get("/activations", h.activationsIndex)
	router.Post("/activations/bulk-deactivate", h.activationsBulkDeactivate)
	router.Post("/activations/bulk-delete", h.activationsBulkDelete)
	router.Get("/activations/:id", h.activationShow)
	router.Post("/activations/:id/activate", h.activationMarkActive)
	router.Post("/activations/:id/deactivate", h.activationMarkInactive)
	router.Post("/activations/:id/delete", h.activationDelete)

	router.Get("/imports", h.importsIndex)
	router.Post("/imports", h.importUpload)
	router.Get("/imports/examples/:kind/:format", h.importExample)
	router.Get("/imports/:id", h.importShow)
	router.Post("/imports/:id/start", h.importStart)
	router.Post("/imports/:id/cancel", h.importCancel)

	router.Get("/activity", h.activityIndex)
	router.Post("/activity/bulk-delete", h.activityBulkDelete)

	router.Get("/downloads", h.downloadsIndex)
	router.Post("/downloads/bulk-delete", h.downloadsBulkDelete)
	router.Get("/reports/top-customers", h.topCustomersReport)

	router.Get("/settings", h.settingsRoot)
	router.Get("/settings/signing-keys", h.signingKeys)
	router.Post("/settings/signing-keys/rotate", h.signingKeysRotate)
	router.Get("/settings/:group", h.settingsGroup)
	router.Post("/settings/:group", h.settingsSave)
	router.Post("/settings/updates/release-keys", h.releaseKeyAdd)
	router.Post("/settings/updates/release-keys/:id/revoke", h.releaseKeyRevoke)

	router.Get("/api-keys", h.apiKeysIndex)
	router.Get("/api-keys/new", h.apiKeyNew)
	router.Post("/api-keys", h.apiKeyCreate)
	router.Post("/api-keys/bulk-revoke", h.apiKeysBulkRevoke)
	router.Post("/api-keys/bulk-delete", h.apiKeysBulkDelete)
	router.Post("/api-keys/:id/revoke", h.apiKeyRevoke)
	router.Post("/api-keys/:id/delete", h.apiKeyDelete)

	router.Get("/plugins", h.pluginsIndex)
	router.Get("/plugins/:name", h.pluginShow)
	router.Post("/plugins/:name/settings", h.pluginSave)
	router.Post("/plugins/:name/enable", h.pluginEnable)
	router.Post("/plugins/:name/disable", h.pluginDisable)
	router.Post("/plugins/:name/use-captcha", h.pluginUseCaptcha)

	router.Get("/mail", h.mailIndex)
	router.Get("/mail/:id", h.mailShow)
	router.Get("/mail/:id/html", h.mailHTML)

	router.Get("/webhooks", h.webhooksIndex)
	router.Post("/webhooks/test", h.webhookTest)
	router.Get("/webhooks/:id", h.webhookShow)
	router.Post("/webhooks/:id/resend", h.webhookResend)

	router.Get("/tools/cron", h.cronPage)
	router.Post("/tools/cron/expiry-scan", h.cronExpiryScan)
	router.Post("/tools/cron/blacklist-scan", h.cronBlacklistScan)

	// River's web UI: its pages, assets and JSON API (jobs.UIPrefix).
	jobsUI := h.jobsUI(deps.JobsUI)
	router.All("/jobs", jobsUI)
	router.All("/jobs/*", jobsUI)
}
