package portal

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/passwords"
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
	Success                     bool
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
		r := signInRow{Date: dateTime(&l.CreatedAt), IP: l.IP, UserAgent: l.UserAgent, Success: l.Success, Result: "Signed in"}
		if !l.Success {
			r.Result = "Refused (" + strings.ReplaceAll(l.Reason, "_", " ") + ")"
		}
		rows[i] = r
	}
	if name == "" {
		name = cu.Name
	}
	data := fiber.Map{
		"Title": "Settings", "Name": name, "SignIns": rows, "PasswordMin": set.PasswordMinLength,
		"ProfileErrors": map[string]string{}, "PasswordErrors": map[string]string{},
	}
	switch form {
	case "profile":
		data["ProfileErrors"] = errs
	case "password":
		data["PasswordErrors"] = errs
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
	currentPw, password := c.FormValue("current_password"), c.FormValue("password")
	errs := map[string]string{}
	if currentPw == "" {
		errs["current_password"] = fields.Required("current_password")
	} else if !cu.HasPassword() {
		errs["current_password"] = msgWrongCurrent
	} else if ok, err := passwords.Verify(*cu.PasswordHash, currentPw); err != nil {
		return fmt.Errorf("portal settings: verify password: %w", err)
	} else if !ok {
		errs["current_password"] = msgWrongCurrent
	}
	if password == "" {
		errs["password"] = fields.Required("password")
	} else if password != c.FormValue("password_confirmation") {
		errs["password_confirmation"] = "The password confirmation does not match."
	}
	if len(errs) > 0 {
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, "password", errs, "")
	}
	var epoch int64
	err = h.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := h.customers.Update(ctx, tx, source(c, cu), set, cu.ID, customers.UpdateParams{Password: fields.Some(password)}); err != nil {
			return err
		}
		var err error
		epoch, err = customers.EndSessions(ctx, tx, cu.ID)
		return err
	})
	if verr, ok := fields.As(err); ok {
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, "password", verr.Map(), "")
	}
	if err != nil {
		return fmt.Errorf("portal settings: password: %w", err)
	}
	sess := web.Session(c)
	if err := sess.Regenerate(); err != nil {
		return fmt.Errorf("portal settings: new session id: %w", err)
	}
	sess.Set(sessionEpoch, epoch)
	web.AddFlash(c, web.FlashSuccess, "Your password has been changed. Your other sessions were signed out.")
	return web.Redirect(c, fiber.StatusSeeOther, settingsPath)
}
