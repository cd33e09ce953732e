package portal

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/web"
)

// Register mounts the portal on router, the /customer group, which must
// already run the customer session and CSRF middleware.
func Register(router fiber.Router, deps Deps) {
	h := newHandlers(deps)

	router.Get("/", h.home)
	router.Get("/login", h.loginForm)
	router.Post("/login", h.login)
	router.Get("/login/two-factor", h.twoFactorForm)
	router.Post("/login/two-factor", h.twoFactorLogin)
	router.Get("/register", h.registerForm)
	router.Post("/register", h.register)
	router.Get("/email/verify/:token", h.verifyEmail)
	router.Get("/email/resend", h.resendForm)
	router.Post("/email/resend", h.resend)
	router.Get("/password/forgot", h.forgotForm)
	router.Post("/password/forgot", h.forgot)
	router.Get("/password/reset/:token", h.resetForm)
	router.Post("/password/reset/:token", h.reset)
	router.Get("/captcha/:id.png", h.captchaImage)

	// Everything below needs a signed-in customer.
	router.Use(h.requireCustomer)
	// An upload's body is read only now (web.BodyLimit left it unread).
	router.Use(web.ReadBody)
	router.Post("/logout", h.logout)
	router.Get("/dashboard", h.dashboard)

	router.Get("/product-licenses", h.licensesPageOn, h.licenses)
	router.Get("/product-licenses/:id", h.licensesPageOn, h.license)
	router.Get("/product-licenses/:id/code", h.licensesPageOn, h.licenseCode)
	router.Get("/product-licenses/:id/file", h.licensesPageOn, h.licenseFile)
	router.Get("/product-licenses/:id/download", h.licensesPageOn, h.licenseFile)
	router.Get("/product-licenses/:id/latest", h.licensesPageOn, h.downloadLatest)

	router.Get("/offline-activation", h.licensesPageOn, h.offlinePage)
	router.Post("/offline-activation", h.licensesPageOn, h.offlineActivate)
	router.Post("/offline-activation/release", h.licensesPageOn, h.offlineRelease)

	router.Get("/product-activations", h.activationsPageOn, h.activations)
	router.Post("/product-activations/:id/deactivate", h.deactivate)
	router.Delete("/activated-product-activations/:id", h.deactivate)

	router.Get("/settings", h.accountSettings)
	router.Post("/settings/profile", h.updateProfile)
	router.Post("/settings/password", h.updatePassword)
	router.Post("/settings/avatar", h.uploadAvatar)
	router.Post("/settings/avatar/delete", h.removeAvatar)
	router.Post("/settings/email", h.changeEmail)
	router.Post("/settings/sessions/:id/end", h.endSession)
	router.Post("/settings/sessions/end-others", h.endOtherSessions)
	router.Post("/settings/two-factor", h.twoFactorBegin)
	router.Post("/settings/two-factor/confirm", h.twoFactorConfirm)
	router.Post("/settings/two-factor/recovery-codes", h.twoFactorRecoveryCodes)
	router.Post("/settings/two-factor/disable", h.twoFactorDisable)
	router.Get("/avatar/:id", h.avatar)
}
