package admin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/avatars"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/passwords"
	"github.com/licensor/licensor/app/sessions"
	"github.com/licensor/licensor/app/twofactor"
	"github.com/licensor/licensor/app/web"
)

const accountPath = "/admin/account"

const msgWrongCurrent = "The current password is not correct."

// sessionRow is one line of the active sessions table.
type sessionRow struct {
	ID                  int64
	Device, IP          string
	FirstSeen, LastSeen time.Time
	Current             bool
}

// account shows the admin's own account: name and picture, email,
// password, two-factor sign-in and the active sessions.
func (h *handlers) account(c fiber.Ctx) error {
	return h.renderAccount(c, fiber.StatusOK, "", nil, nil)
}

func (h *handlers) renderAccount(c fiber.Ctx, status int, form string, errs map[string]string, typed map[string]string) error {
	ctx := c.Context()
	a := currentAdmin(c)
	set, err := h.currentSettings(ctx)
	if err != nil {
		return err
	}
	list, err := sessions.List(ctx, h.db, sessions.AdminOwner(a.ID), sessions.ForAdmins(set))
	if err != nil {
		return err
	}
	rows := make([]sessionRow, len(list))
	current := currentSession(c)
	for i, s := range list {
		rows[i] = sessionRow{ID: s.ID, Device: sessions.Device(s.UserAgent), IP: s.IP, FirstSeen: s.CreatedAt, LastSeen: s.LastSeenAt, Current: s.ID == current}
	}
	on, err := h.twoFactor.Enabled(ctx, h.db, twofactor.AdminAccount(a.ID))
	if err != nil {
		return err
	}
	if errs == nil {
		errs = map[string]string{}
	}
	if typed == nil {
		typed = map[string]string{}
	}
	if _, ok := typed["name"]; !ok {
		typed["name"] = a.Name
	}
	return web.Render(c, status, web.View{
		Page: "admin/account/index", Layout: "layouts/admin",
		Data: fiber.Map{
			"Title": "Your account", "Section": "account", "Account": a, "Form": form, "Errors": errs, "Typed": typed,
			"Sessions": rows, "OtherSessions": len(rows) > 1 || (len(rows) == 1 && !rows[0].Current),
			"TwoFactor": on, "TwoFactorRequired": set.RequireAdmin2FA, "MinLength": admins.MinPasswordLength,
			"Location": set.Location(),
		},
	})
}

// accountProfile changes the admin's name.
func (h *handlers) accountProfile(c fiber.Ctx) error {
	a := currentAdmin(c)
	name := strings.TrimSpace(c.FormValue("name"))
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		_, err := admins.SetName(ctx, tx, source(c), a.ID, name)
		return err
	})
	if verr, ok := fields.As(err); ok {
		return h.renderAccount(c, fiber.StatusUnprocessableEntity, "profile", verr.Map(), map[string]string{"name": name})
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, "Your name has been saved.")
	return web.Redirect(c, fiber.StatusSeeOther, accountPath)
}

// checkCurrentPassword checks the current password a form asks for. Each
// guess counts in the admin sign-in limits, so a session left open cannot
// be used to find the password; the right one clears the account's count.
// It returns the message for the field ("" when right) and the status.
func (h *handlers) checkCurrentPassword(c fiber.Ctx, a *admins.Admin, pw string) (string, int, error) {
	if pw == "" {
		return fields.Required("current_password"), fiber.StatusUnprocessableEntity, nil
	}
	ctx := c.Context()
	wait, err := h.throttle(ctx, a.Email, web.ClientIP(c))
	if err != nil {
		return "", 0, err
	}
	if wait > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return tooManyAttempts(wait), fiber.StatusTooManyRequests, nil
	}
	ok, err := passwords.Verify(a.PasswordHash, pw)
	if err != nil {
		return "", 0, fmt.Errorf("check current password: %w", err)
	}
	if !ok {
		return msgWrongCurrent, fiber.StatusUnprocessableEntity, nil
	}
	if err := h.limiter.Reset(ctx, emailBucket(a.Email)); err != nil {
		h.logger.WarnContext(ctx, "clear sign-in failures", "error", err)
	}
	return "", 0, nil
}

// accountPassword changes the password after the current one; every other
// session of the admin ends, this one stays on a new session ID.
func (h *handlers) accountPassword(c fiber.Ctx) error {
	a := currentAdmin(c)
	errs := map[string]string{}
	msg, status, err := h.checkCurrentPassword(c, a, c.FormValue("current_password"))
	if err != nil {
		return err
	}
	if msg != "" {
		errs["current_password"] = msg
	}
	password, perrs := readNewPassword(c)
	for k, v := range perrs {
		errs[k] = v
	}
	if len(errs) > 0 {
		if status == 0 {
			status = fiber.StatusUnprocessableEntity
		}
		return h.renderAccount(c, status, "password", errs, nil)
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		return admins.SetPassword(ctx, tx, source(c), a.ID, password, currentSession(c), "changed")
	})
	if verr, ok := fields.As(err); ok {
		return h.renderAccount(c, fiber.StatusUnprocessableEntity, "password", verr.Map(), nil)
	}
	if err != nil {
		return err
	}
	if err := web.Session(c).Regenerate(); err != nil {
		return fmt.Errorf("admin password: new session id: %w", err)
	}
	web.AddFlash(c, web.FlashSuccess, "Your password has been changed. Your other sessions were signed out.")
	return web.Redirect(c, fiber.StatusSeeOther, accountPath)
}

// emailChangesPerHour bounds the confirmation emails one admin can have
// sent to other addresses.
const emailChangesPerHour = 5

// accountEmail starts an email change: after the current password, a link
// (24 hours, single-use) goes to the new address; the address changes when
// it is opened. An address another admin uses gets the same answer and no
// email.
func (h *handlers) accountEmail(c fiber.Ctx) error {
	ctx := c.Context()
	a := currentAdmin(c)
	email := strings.TrimSpace(c.FormValue("email"))
	typed := map[string]string{"email": email}
	errs := map[string]string{}
	switch {
	case email == "":
		errs["email"] = fields.Required("email")
	case fields.Length(email) > fields.MaxEmailLen:
		errs["email"] = fields.MaxLen("email", fields.MaxEmailLen)
	case !fields.IsEmail(email):
		errs["email"] = fields.Email("email")
	case strings.EqualFold(email, a.Email):
		errs["email"] = "This is already your email address."
	}
	msg, status, err := h.checkCurrentPassword(c, a, c.FormValue("current_password"))
	if err != nil {
		return err
	}
	if msg != "" {
		errs["current_password"] = msg
	}
	if len(errs) > 0 {
		if status == 0 {
			status = fiber.StatusUnprocessableEntity
		}
		return h.renderAccount(c, status, "email", errs, typed)
	}
	r, err := h.limiter.Hit(ctx, "admin-email-change:"+strconv.FormatInt(a.ID, 10), emailChangesPerHour, time.Hour)
	if err != nil {
		return fmt.Errorf("admin email change: %w", err)
	}
	if !r.Allowed {
		return h.renderAccount(c, fiber.StatusTooManyRequests, "email", map[string]string{"email": "Too many requests. Please try again later."}, typed)
	}
	other, err := admins.ByEmail(ctx, h.db, email)
	if err := errkind.IgnoreNotFound(err); err != nil {
		return fmt.Errorf("admin email change: %w", err)
	}
	if other == nil {
		if m := h.mailer(); m != nil {
			set, err := h.currentSettings(ctx)
			if err != nil {
				return err
			}
			if err := m.AdminEmailConfirmation(ctx, h.db, set, a, email); err != nil {
				return fmt.Errorf("admin email change: %w", err)
			}
		}
	}
	web.AddFlash(c, web.FlashInfo, fmt.Sprintf("We have sent a confirmation link to %s. Your email address changes when you open it (within 24 hours).", email))
	return web.Redirect(c, fiber.StatusSeeOther, accountPath)
}

// accountEmailConfirm applies the email change of a link sent to the new
// address: it must be opened signed in as the admin it belongs to. The old
// address is told, and every other session ends.
func (h *handlers) accountEmailConfirm(c fiber.Ctx) error {
	a := currentAdmin(c)
	var old string
	var changed *admins.Admin
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		t, err := admins.PeekToken(ctx, tx, c.Params("token"), admins.TokenEmailChange, h.now())
		if err != nil {
			return err
		}
		if t.AdminID != a.ID {
			return admins.ErrTokenInvalid
		}
		changed, old, err = admins.ConfirmEmail(ctx, tx, web.ClientIP(c), c.Params("token"), currentSession(c), h.now())
		if err != nil {
			return err
		}
		if m := h.mailer(); m != nil {
			set, err := h.currentSettings(ctx)
			if err != nil {
				return err
			}
			return m.AdminEmailChanged(ctx, tx, set, changed, old, changed.Email)
		}
		return nil
	})
	if err != nil {
		return h.linkInvalid(c, err)
	}
	web.MarkWrite(c) // a GET that wrote: the next pages read the primary
	web.AddFlash(c, web.FlashSuccess, "Your email address is now "+changed.Email+". Your other sessions were signed out.")
	return web.Redirect(c, fiber.StatusSeeOther, accountPath)
}

// accountAvatar replaces the admin's picture with the uploaded one
// (checked by content and size, stored as a square PNG thumbnail).
func (h *handlers) accountAvatar(c fiber.Ctx) error {
	ctx := c.Context()
	a := currentAdmin(c)
	max := int64(avatars.DefaultMaxBytes)
	fail := func(msg string) error {
		return h.renderAccount(c, fiber.StatusUnprocessableEntity, "profile", map[string]string{"avatar": msg}, nil)
	}
	if h.avatars == nil {
		return fiber.ErrNotFound
	}
	fh, err := c.FormFile("avatar")
	if err != nil || fh == nil || fh.Size == 0 {
		return fail(avatars.Message(avatars.ErrEmpty, max))
	}
	if fh.Size > max {
		return fail(avatars.Message(avatars.ErrTooLarge, max))
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("admin avatar: open upload: %w", err)
	}
	thumb, err := avatars.Process(f, max)
	_ = f.Close()
	if msg := avatars.Message(err, max); msg != "" {
		return fail(msg)
	}
	if err != nil {
		return fmt.Errorf("admin avatar: %w", err)
	}
	key, err := avatars.NewKey(a.ID)
	if err != nil {
		return err
	}
	key = "admin-" + key
	if err := h.avatars.Put(ctx, key, thumb); err != nil {
		return fmt.Errorf("admin avatar: %w", err)
	}
	if err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error { return admins.SetAvatar(ctx, tx, source(c), a, key) }); err != nil {
		_ = h.avatars.Delete(ctx, key)
		return err
	}
	h.dropAdminAvatar(ctx, a.AvatarPath)
	web.AddFlash(c, web.FlashSuccess, "Your picture has been saved.")
	return web.Redirect(c, fiber.StatusSeeOther, accountPath)
}

// accountAvatarDelete goes back to initials.
func (h *handlers) accountAvatarDelete(c fiber.Ctx) error {
	a := currentAdmin(c)
	if err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error { return admins.SetAvatar(ctx, tx, source(c), a, "") }); err != nil {
		return err
	}
	h.dropAdminAvatar(c.Context(), a.AvatarPath)
	web.AddFlash(c, web.FlashSuccess, "Your picture has been removed.")
	return web.Redirect(c, fiber.StatusSeeOther, accountPath)
}

func (h *handlers) dropAdminAvatar(ctx context.Context, key *string) {
	if key == nil || *key == "" || h.avatars == nil {
		return
	}
	if err := h.avatars.Delete(ctx, *key); err != nil {
		h.logger.WarnContext(ctx, "delete replaced avatar", "key", *key, "error", err)
	}
}

// accountAvatarImage serves the signed-in admin's own picture.
func (h *handlers) accountAvatarImage(c fiber.Ctx) error {
	a := currentAdmin(c)
	if !a.HasAvatar() || h.avatars == nil {
		return fiber.ErrNotFound
	}
	data, err := h.avatars.Get(c.Context(), *a.AvatarPath)
	if err != nil {
		return fmt.Errorf("admin avatar: %w", err)
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "private, max-age=86400")
	return c.Send(data)
}

// accountSessionEnd signs one of the admin's other sessions out.
func (h *handlers) accountSessionEnd(c fiber.Ctx) error {
	a := currentAdmin(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id == currentSession(c) {
		return fiber.ErrNotFound
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		return admins.EndSession(ctx, tx, source(c), a, id)
	})
	if errors.Is(err, sessions.ErrEnded) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, "The session has been signed out.")
	return web.Redirect(c, fiber.StatusSeeOther, accountPath+"#sessions")
}

// accountSessionsEndOthers signs every other session of the admin out.
func (h *handlers) accountSessionsEndOthers(c fiber.Ctx) error {
	a := currentAdmin(c)
	var n int64
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		var err error
		n, err = admins.EndOtherSessions(ctx, tx, source(c), a, currentSession(c))
		return err
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Signed out %d other session(s).", n))
	return web.Redirect(c, fiber.StatusSeeOther, accountPath+"#sessions")
}
