package portal

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/sessions"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

const (
	settingsPath    = "/customer/settings"
	recentSignIns   = 10
	msgWrongCurrent = "The current password is not correct."
)

// signInRow is one line of the recent sign-ins list.
type signInRow struct {
	Date, IP, UserAgent, Result string
	// Device names the browser and system of UserAgent ("Firefox on Windows").
	Device  string
	Success bool
}

// accountSettings shows the name and password forms and the recent
// sign-ins (avatar and email change are not offered yet).
func (h *handlers) accountSettings(c fiber.Ctx) error {
	return h.renderSettings(c, fiber.StatusOK, "", nil, "")
}

func (h *handlers) renderSettings(c fiber.Ctx, status int, form string, errs map[string]string, name string) error {
	ctx := c.Context()
	cu := current(c)
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	logins, err := customers.RecentLogins(ctx, h.db, cu.ID, recentSignIns)
	if err != nil {
		return fmt.Errorf("portal settings: %w", err)
	}
	rows := make([]signInRow, len(logins))
	for i, l := range logins {
		r := signInRow{Date: dateTime(&l.CreatedAt), IP: l.IP, UserAgent: l.UserAgent, Device: sessions.Device(l.UserAgent), Success: l.Success, Result: "Signed in"}
		if !l.Success {
			r.Result = "Refused (" + strings.ReplaceAll(l.Reason, "_", " ") + ")"
		}
		rows[i] = r
	}
	// typed is what was typed in form's main field (the name, or the new
	// email), kept when the form is refused.
	typed := name
	if form != "profile" || name == "" {
		name = cu.Name
	}
	data := fiber.Map{
		"Title": "Settings", "Name": name, "SignIns": rows, "PasswordMin": set.PasswordMinLength,
		"ProfileErrors": map[string]string{}, "PasswordErrors": map[string]string{},
		"AvatarErrors": map[string]string{}, "EmailErrors": map[string]string{},
		"AvatarMax": humanSize(h.avatarMax), "HasAvatar": cu.AvatarPath != nil && *cu.AvatarPath != "",
	}
	if err := h.securityData(c, set, cu, data); err != nil {
		return err
	}
	data["TwoFactorErrors"] = map[string]string{}
	switch form {
	case "two-factor":
		data["TwoFactorErrors"] = errs
	case "profile":
		data["ProfileErrors"] = errs
	case "password":
		data["PasswordErrors"] = errs
	case "avatar":
		data["AvatarErrors"] = errs
	case "email":
		data["EmailErrors"], data["NewEmail"] = errs, typed
	}
	return web.Render(c, status, web.View{Page: "portal/settings", Layout: "layouts/portal", Data: data})
}

// updateProfile changes the customer's name.
func (h *handlers) updateProfile(c fiber.Ctx) error {
	ctx := c.Context()
	cu := current(c)
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(c.FormValue("name"))
	if name == "" {
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, "profile", map[string]string{"name": fields.Required("name")}, name)
	}
	_, err = h.customers.Update(ctx, h.db, source(c, cu), set, cu.ID, customers.UpdateParams{Name: fields.Some(name)})
	if verr, ok := fields.As(err); ok {
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, "profile", verr.Map(), name)
	}
	if err != nil {
		return fmt.Errorf("portal settings: name: %w", err)
	}
	web.AddFlash(c, web.FlashSuccess, "Your name has been saved.")
	return web.Redirect(c, fiber.StatusSeeOther, settingsPath)
}

// updatePassword changes the password after checking the current one, and
// ends every other session of the customer (as a reset does); this one
// stays signed in on a new session ID.
func (h *handlers) updatePassword(c fiber.Ctx) error {
	ctx := c.Context()
	cu := current(c)
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	password := c.FormValue("password")
	errs := map[string]string{}
	msg, status, err := h.checkCurrentPassword(c, set, cu, c.FormValue("current_password"))
	if err != nil {
		return err
	}
	if msg != "" {
		errs["current_password"] = msg
	}
	if status == fiber.StatusTooManyRequests {
		return h.renderSettings(c, status, "password", errs, "")
	}
	if password == "" {
		errs["password"] = fields.Required("password")
	} else if password != c.FormValue("password_confirmation") {
		errs["password_confirmation"] = "The password confirmation does not match."
	}
	if len(errs) > 0 {
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, "password", errs, "")
	}
	_, err = h.customers.Update(ctx, h.db, source(c, cu), set, cu.ID, customers.UpdateParams{Password: fields.Some(password), KeepSession: currentSession(c)})
	if verr, ok := fields.As(err); ok {
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, "password", verr.Map(), "")
	}
	if err != nil {
		return fmt.Errorf("portal settings: password: %w", err)
	}
	if err := web.Session(c).Regenerate(); err != nil {
		return fmt.Errorf("portal settings: new session id: %w", err)
	}
	web.AddFlash(c, web.FlashSuccess, "Your password has been changed. Your other sessions were signed out.")
	return web.Redirect(c, fiber.StatusSeeOther, settingsPath)
}

func humanSize(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d KB", n>>10)
}

// emailChangesPerHour bounds the confirmation emails one account can have
// sent to other addresses.
const emailChangesPerHour = 5

const msgEmailChangeSent = "We have sent a confirmation link to %s. Your email address changes when you open it (within 24 hours)."

// changeEmail starts an email change: after the current password, a
// confirmation link (single-use, 24 hours, stored hashed) goes to the NEW
// address; the account keeps its address until the link is opened
// (verifyEmail), which also tells the old address. An address that
// another account uses gets the same answer and no email, so the form
// does not reveal which addresses have accounts; the link step checks
// again.
func (h *handlers) changeEmail(c fiber.Ctx) error {
	ctx := c.Context()
	cu := current(c)
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	email := strings.TrimSpace(c.FormValue("email"))
	errs := map[string]string{}
	switch {
	case email == "":
		errs["email"] = fields.Required("email")
	case fields.Length(email) > fields.MaxEmailLen:
		errs["email"] = fields.MaxLen("email", fields.MaxEmailLen)
	case !fields.IsEmail(email):
		errs["email"] = fields.Email("email")
	case strings.EqualFold(email, cu.Email):
		errs["email"] = "This is already your email address."
	}
	msg, status, err := h.checkCurrentPassword(c, set, cu, c.FormValue("current_password"))
	if err != nil {
		return err
	}
	if msg != "" {
		errs["current_password"] = msg
	}
	if status == fiber.StatusTooManyRequests {
		return h.renderSettings(c, status, "email", errs, email)
	}
	if len(errs) > 0 {
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, "email", errs, email)
	}
	r, err := h.limiter.Hit(ctx, "customer-email-change:"+strconv.FormatInt(cu.ID, 10), emailChangesPerHour, time.Hour)
	if err != nil {
		return fmt.Errorf("portal email change: %w", err)
	}
	if !r.Allowed {
		return h.renderSettings(c, fiber.StatusTooManyRequests, "email",
			map[string]string{"email": "Too many requests. Please try again later."}, email)
	}
	other, err := customers.ByEmail(ctx, h.db, email)
	if err := errkind.IgnoreNotFound(err); err != nil {
		return fmt.Errorf("portal email change: %w", err)
	}
	if other == nil {
		if m := h.mailer(ctx); m != nil {
			if err := m.EmailConfirmation(ctx, h.db, set, cu, email); err != nil {
				return fmt.Errorf("portal email change: %w", err)
			}
		}
	}
	web.AddFlash(c, web.FlashInfo, fmt.Sprintf(msgEmailChangeSent, email))
	return web.Redirect(c, fiber.StatusSeeOther, settingsPath)
}

// checkCurrentPassword checks the current password a settings form asks
// for (customers.ConfirmPassword: each guess counts in the sign-in
// limits). It returns the message for the field ("" when right) and 429
// when over the limit.
func (h *handlers) checkCurrentPassword(c fiber.Ctx, set *settings.Values, cu *customers.Customer, pw string) (string, int, error) {
	if pw == "" {
		return fields.Required("current_password"), fiber.StatusUnprocessableEntity, nil
	}
	err := customers.ConfirmPassword(c.Context(), h.db, set, cu, customers.SignIn{Password: pw, IP: web.ClientIP(c),
		Limiter: h.limiter, Logger: h.logger})
	var locked *customers.LockedOutError
	switch {
	case errors.As(err, &locked):
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(locked.Wait.Seconds()))))
		return tooManyAttempts(locked.Wait), fiber.StatusTooManyRequests, nil
	case errors.Is(err, customers.ErrInvalidCredentials):
		return msgWrongCurrent, fiber.StatusUnprocessableEntity, nil
	case err != nil:
		return "", 0, err
	}
	return "", 0, nil
}
