package portal

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/sessions"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/twofactor"
	"github.com/licensor/licensor/app/web"
)

// sessionRow is one line of the active sessions list.
type sessionRow struct {
	ID                  int64
	Device, IP          string
	FirstSeen, LastSeen string
	Current             bool
}

// securityData adds the active sessions and the two-factor state to the
// settings page's data.
func (h *handlers) securityData(c fiber.Ctx, set *settings.Values, cu *customers.Customer, data fiber.Map) error {
	ctx := c.Context()
	list, err := sessions.List(ctx, h.db, sessions.CustomerOwner(cu.ID), sessions.ForCustomers(set))
	if err != nil {
		return err
	}
	rows := make([]sessionRow, len(list))
	others := false
	for i, s := range list {
		rows[i] = sessionRow{ID: s.ID, Device: sessions.Device(s.UserAgent), IP: s.IP,
			FirstSeen: dateTime(&s.CreatedAt), LastSeen: dateTime(&s.LastSeenAt), Current: s.ID == currentSession(c)}
		others = others || !rows[i].Current
	}
	data["Sessions"], data["OtherSessions"] = rows, others
	acct := twofactor.CustomerAccount(cu.ID)
	on, err := h.twoFactor.Enabled(ctx, h.db, acct)
	if err != nil {
		return err
	}
	data["TwoFactor"], data["TwoFactorAllowed"] = on, set.AllowCustomer2FA || on
	if on {
		left, err := h.twoFactor.RecoveryCodesLeft(ctx, h.db, acct)
		if err != nil {
			return err
		}
		data["CodesLeft"] = left
	} else if set.AllowCustomer2FA {
		en, err := h.twoFactor.Pending(ctx, h.db, acct, set.AppName, cu.Email)
		if err != nil && !errors.Is(err, twofactor.ErrNotEnrolled) {
			return err
		}
		if en != nil {
			svg, err := twofactor.QRCodeSVG(en.URI, "QR code to scan with your authenticator app")
			if err != nil {
				return err
			}
			// Drawn by us from the URI alone; nothing typed reaches it.
			data["QR"] = template.HTML(svg) //nolint:gosec // see above
			data["Secret"] = groupSecret(en.Secret)
			c.Set(fiber.HeaderCacheControl, "no-store")
		}
	}
	return nil
}

// groupSecret shows a base32 secret in groups of four, as apps print it.
func groupSecret(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// endSession signs one of the customer's other sessions out.
func (h *handlers) endSession(c fiber.Ctx) error {
	cu := current(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id == currentSession(c) {
		return fiber.ErrNotFound
	}
	err = h.db.RunInTx(c.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
		return customers.EndSession(ctx, tx, source(c, cu), cu, id)
	})
	if errors.Is(err, sessions.ErrEnded) {
		return fiber.ErrNotFound
	} else if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, "The session has been signed out.")
	return web.Redirect(c, fiber.StatusSeeOther, settingsPath+"#sessions")
}

// endOtherSessions signs every other session of the customer out.
func (h *handlers) endOtherSessions(c fiber.Ctx) error {
	cu := current(c)
	var n int64
	err := h.db.RunInTx(c.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		n, err = customers.EndOtherSessions(ctx, tx, source(c, cu), cu, currentSession(c))
		return err
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Signed out %d other session(s).", n))
	return web.Redirect(c, fiber.StatusSeeOther, settingsPath+"#sessions")
}

// twoFactorBegin starts an enrolment: the settings page then shows its QR
// code and key.
func (h *handlers) twoFactorBegin(c fiber.Ctx) error {
	ctx := c.Context()
	cu := current(c)
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	if !set.AllowCustomer2FA {
		return fiber.ErrNotFound
	}
	if _, err := h.twoFactor.Begin(ctx, h.db, twofactor.CustomerAccount(cu.ID), set.AppName, cu.Email); err != nil && !errors.Is(err, twofactor.ErrAlreadyEnabled) {
		return err
	}
	return web.Redirect(c, fiber.StatusSeeOther, settingsPath+"#two-factor")
}

// twoFactorConfirm checks the first code and turns two-factor sign-in on;
// the recovery codes are shown once.
func (h *handlers) twoFactorConfirm(c fiber.Ctx) error {
	ctx := c.Context()
	cu := current(c)
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	if !set.AllowCustomer2FA {
		return fiber.ErrNotFound
	}
	var codes []string
	err = h.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		codes, err = customers.ConfirmTwoFactor(ctx, tx, h.twoFactor, source(c, cu), cu, c.FormValue("code"))
		return err
	})
	if errors.Is(err, twofactor.ErrInvalidCode) {
		return h.renderSettings(c, fiber.StatusUnprocessableEntity, "two-factor",
			map[string]string{"code": "This code is not valid. Enter the current 6-digit code your app shows for this account."}, "")
	}
	if errors.Is(err, twofactor.ErrNotEnrolled) || errors.Is(err, twofactor.ErrAlreadyEnabled) {
		return web.Redirect(c, fiber.StatusSeeOther, settingsPath)
	}
	if err != nil {
		return err
	}
	return h.renderRecoveryCodes(c, codes)
}

func (h *handlers) renderRecoveryCodes(c fiber.Ctx, codes []string) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return web.Render(c, fiber.StatusOK, web.View{Page: "portal/recovery_codes", Layout: "layouts/portal",
		Data: fiber.Map{"Title": "Your recovery codes", "Codes": codes, "Text": strings.Join(codes, "\n")}})
}

// twoFactorRecoveryCodes replaces the recovery codes, after the current
// password (counted with the sign-in limits).
func (h *handlers) twoFactorRecoveryCodes(c fiber.Ctx) error {
	return h.withPassword(c, func(ctx context.Context, tx bun.IDB, cu *customers.Customer) error {
		codes, err := customers.NewRecoveryCodes(ctx, tx, h.twoFactor, source(c, cu), cu)
		if err != nil {
			return err
		}
		return h.renderRecoveryCodes(c, codes)
	})
}

// twoFactorDisable turns two-factor sign-in off, after the current
// password.
func (h *handlers) twoFactorDisable(c fiber.Ctx) error {
	return h.withPassword(c, func(ctx context.Context, tx bun.IDB, cu *customers.Customer) error {
		if err := customers.DisableTwoFactor(ctx, tx, h.twoFactor, source(c, cu), cu); err != nil {
			return err
		}
		web.AddFlash(c, web.FlashSuccess, "Two-factor sign-in is off.")
		return web.Redirect(c, fiber.StatusSeeOther, settingsPath)
	})
}

// withPassword runs do in a transaction when the form's current password
// is right; otherwise the settings page comes back with the message.
func (h *handlers) withPassword(c fiber.Ctx, do func(ctx context.Context, tx bun.IDB, cu *customers.Customer) error) error {
	ctx := c.Context()
	cu := current(c)
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	msg, status, err := h.checkCurrentPassword(c, set, cu, c.FormValue("current_password"))
	if err != nil {
		return err
	}
	if msg != "" {
		return h.renderSettings(c, status, "two-factor", map[string]string{"current_password": msg}, "")
	}
	return h.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return do(ctx, tx, cu) })
}

// Session keys of a sign-in waiting for its second factor.
const (
	sessionPendingCustomer = "customer_2fa_pending"
	sessionPendingAt       = "customer_2fa_at"
	sessionPendingNext     = "customer_2fa_next"
	sessionPendingRemember = "customer_2fa_remember"
)

const (
	pendingTTL         = 5 * time.Minute
	twoFactorLoginPath = "/customer/login/two-factor"
	msgWrongCode       = "This code is not valid. Enter the current code from your authenticator app, or an unused recovery code."
)

// askTwoFactor remembers that cu's password was right and asks for the
// code.
func (h *handlers) askTwoFactor(c fiber.Ctx, cu *customers.Customer, next string, remember bool) error {
	sess := web.Session(c)
	if err := sess.Regenerate(); err != nil {
		return fmt.Errorf("portal sign-in: new session id: %w", err)
	}
	sess.Set(sessionPendingCustomer, cu.ID)
	sess.Set(sessionPendingAt, h.now().Unix())
	sess.Set(sessionPendingNext, next)
	sess.Set(sessionPendingRemember, remember)
	return web.Redirect(c, fiber.StatusSeeOther, twoFactorLoginPath)
}

// pendingCustomer is the customer whose password this session got right in
// the last five minutes, or nil.
func (h *handlers) pendingCustomer(c fiber.Ctx) (*customers.Customer, error) {
	sess := web.Session(c)
	id, _ := sess.Get(sessionPendingCustomer).(int64)
	at, _ := sess.Get(sessionPendingAt).(int64)
	if id == 0 || h.now().Sub(time.Unix(at, 0)) > pendingTTL {
		return nil, nil
	}
	cu, err := customers.Get(c.Context(), h.db, id)
	// Deleted between password and code: no pending sign-in.
	return cu, errkind.IgnoreNotFound(err)
}

// twoFactorForm asks for the code of the customer whose password was
// right.
func (h *handlers) twoFactorForm(c fiber.Ctx) error {
	cu, err := h.pendingCustomer(c)
	if err != nil {
		return err
	}
	if cu == nil {
		return web.Redirect(c, fiber.StatusFound, loginPath)
	}
	return h.renderTwoFactorLogin(c, fiber.StatusOK, "")
}

// twoFactorLogin checks the code; each attempt counts in the sign-in
// limits of the account and the IP address, and a code is accepted once.
func (h *handlers) twoFactorLogin(c fiber.Ctx) error {
	ctx := c.Context()
	cu, err := h.pendingCustomer(c)
	if err != nil {
		return err
	}
	if cu == nil {
		web.AddFlash(c, web.FlashInfo, "Your sign-in took too long. Please sign in again.")
		return web.Redirect(c, fiber.StatusSeeOther, loginPath)
	}
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	err = h.customers.CompleteSignIn(ctx, h.db, set, cu, h.signIn(c, cu.Email, ""), func() (bool, error) {
		err := h.twoFactor.Verify(ctx, h.db, twofactor.CustomerAccount(cu.ID), c.FormValue("code"))
		switch {
		case errors.Is(err, twofactor.ErrInvalidCode):
			return false, nil
		case errors.Is(err, twofactor.ErrNotEnrolled):
			return true, nil // turned off meanwhile: the password was right
		}
		return err == nil, err
	})
	var locked *customers.LockedOutError
	switch {
	case errors.As(err, &locked):
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(locked.Wait.Seconds()))))
		return h.renderTwoFactorLogin(c, fiber.StatusTooManyRequests, tooManyAttempts(locked.Wait))
	case errors.Is(err, customers.ErrInvalidCredentials):
		return h.renderTwoFactorLogin(c, fiber.StatusUnprocessableEntity, msgWrongCode)
	case err != nil:
		return err
	}
	sess := web.Session(c)
	next, _ := sess.Get(sessionPendingNext).(string)
	remember, _ := sess.Get(sessionPendingRemember).(bool)
	for _, k := range []string{sessionPendingCustomer, sessionPendingAt, sessionPendingNext, sessionPendingRemember} {
		sess.Delete(k)
	}
	if err := h.startSession(c, cu, remember); err != nil {
		return err
	}
	return web.Redirect(c, fiber.StatusSeeOther, web.LocalPath(next, dashboardPath))
}

func (h *handlers) renderTwoFactorLogin(c fiber.Ctx, status int, errMsg string) error {
	return web.Render(c, status, web.View{
		Page: "portal/login_two_factor", Layout: "layouts/portal", Fragment: "portal/login_two_factor/form",
		Data: fiber.Map{"Title": "Two-factor sign-in", "Error": errMsg},
	})
}
