package admin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/web"
)

const usersPath = "/admin/users"

// userColumns are the admin users list's columns.
var userColumns = []web.Column{
	{Key: "name", Label: "Name", SortKey: "name"},
	{Key: "email", Label: "Email", SortKey: "email", Optional: true},
	{Key: "role", Label: "Role", Optional: true},
	{Key: "last_login", Label: "Last sign-in", SortKey: "last_login_at", Optional: true},
	{Key: "two_factor", Label: "2FA", Optional: true},
	{Key: "status", Label: "Status", Optional: true},
}

type usersFilter struct {
	Search, Status, Sort, Role string
}

// usersIndex lists the console's admins: name, email, role, last sign-in,
// two-factor, status; search, role and status filters, sort and page come
// from the URL.
func (h *handlers) usersIndex(c fiber.Ctx) error {
	q := usersFilter{Search: strings.TrimSpace(c.Query("q")), Status: c.Query("status"), Sort: c.Query("sort"), Role: c.Query("role")}
	roleID, _ := strconv.ParseInt(q.Role, 10, 64)
	if roleID == 0 {
		q.Role = ""
	}
	switch q.Status {
	case admins.StatusActive, admins.StatusInvited, admins.StatusDisabled:
	default:
		q.Status = ""
	}
	if !web.IsSort(q.Sort, userColumns) {
		q.Sort = ""
	}
	ctx := c.Context()
	page := web.ListPage(c)
	list, total, err := admins.List(ctx, h.db, admins.Filter{Search: q.Search, RoleID: roleID, Status: q.Status}, q.Sort, page)
	if err != nil {
		return err
	}
	roles, err := admins.ListRoles(ctx, h.db)
	if err != nil {
		return err
	}
	roleOptions := []web.Option{{Value: "", Label: "All roles"}}
	for _, r := range roles {
		roleOptions = append(roleOptions, web.Option{Value: strconv.FormatInt(r.ID, 10), Label: r.Name})
	}
	table := web.NewTable(c, h.allowed(currentAdmin(c), web.TableSpec{
		ID: "users", Search: "Search name or email", SearchValue: q.Search,
		Filters: []web.Filter{
			{Name: "role", Label: "Role", Type: "select", Value: q.Role, Options: roleOptions},
			{Name: "status", Label: "Status", Type: "select", Value: q.Status, Options: []web.Option{
				{Value: "", Label: "Any status"}, {Value: admins.StatusActive, Label: "Active"},
				{Value: admins.StatusInvited, Label: "Invited"}, {Value: admins.StatusDisabled, Label: "Disabled"}}},
		},
		Columns: userColumns, Sort: q.Sort, RowActions: true,
		Links: []web.Link{{Label: "Invite an admin", URL: usersPath + "/invite", Primary: true}},
	}), page, total)
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/users/index", Layout: "layouts/admin", Fragment: "admin/users/index/results",
		Data: fiber.Map{"Title": "Admin users", "Section": "users", "Users": list, "Table": table, "Me": currentAdmin(c).ID},
	})
}

type userForm struct {
	Name, Email string
	RoleID      int64
}

func readUserForm(c fiber.Ctx) userForm {
	f := userForm{Name: strings.TrimSpace(c.FormValue("name")), Email: strings.TrimSpace(c.FormValue("email"))}
	f.RoleID, _ = strconv.ParseInt(c.FormValue("role_id"), 10, 64)
	return f
}

// userInviteForm shows the invitation form.
func (h *handlers) userInviteForm(c fiber.Ctx) error {
	return h.renderUserForm(c, fiber.StatusOK, nil, userForm{}, nil)
}

// userInvite creates the admin without a password and emails the
// invitation link (without SMTP it waits in the mail outbox).
func (h *handlers) userInvite(c fiber.Ctx) error {
	form := readUserForm(c)
	var invited *admins.Admin
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		var err error
		invited, err = admins.Invite(ctx, tx, source(c), form.Name, form.Email, form.RoleID, h.now())
		if err != nil {
			return err
		}
		return h.sendInvitation(c, ctx, tx, invited)
	})
	if verr, ok := fields.As(err); ok {
		return h.renderUserForm(c, fiber.StatusUnprocessableEntity, nil, form, verr.Map())
	}
	if errors.Is(err, admins.ErrEmailTaken) {
		return h.renderUserForm(c, fiber.StatusUnprocessableEntity, nil, form, map[string]string{"email": "Another admin has this email address."})
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, h.invitationSent(invited))
	return web.Redirect(c, fiber.StatusSeeOther, usersPath)
}

func (h *handlers) sendInvitation(c fiber.Ctx, ctx context.Context, tx bun.IDB, a *admins.Admin) error {
	m := h.mailer()
	if m == nil {
		return errors.New("invite admin: no mailer on this node")
	}
	set, err := h.currentSettings(ctx)
	if err != nil {
		return err
	}
	return m.AdminInvitation(ctx, tx, set, a, currentAdmin(c).Name)
}

func (h *handlers) invitationSent(a *admins.Admin) string {
	msg := fmt.Sprintf("Invited %s <%s> as %s. The invitation link is valid for 7 days.", a.Name, a.Email, a.Role.Name)
	if h.mailOutbox {
		msg += " No SMTP server is configured: copy the link from the mail outbox and send it yourself."
	}
	return msg
}

// userResendInvitation emails a new invitation link to an admin who has
// not set a password yet (older links stay valid until used or expired).
func (h *handlers) userResendInvitation(c fiber.Ctx) error {
	a, err := h.userOf(c)
	if err != nil {
		return err
	}
	if a.Status() != admins.StatusInvited {
		web.AddFlash(c, web.FlashError, a.Name+" has already set a password.")
		return web.Redirect(c, fiber.StatusSeeOther, usersPath)
	}
	if err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error { return h.sendInvitation(c, ctx, tx, a) }); err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, h.invitationSent(a))
	return web.Redirect(c, fiber.StatusSeeOther, usersPath)
}

func (h *handlers) userOf(c fiber.Ctx) (*admins.Admin, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return nil, fiber.ErrNotFound
	}
	a, err := admins.Get(c.Context(), h.db, id)
	return a, err
}

// userEdit shows an admin's name, email and role.
func (h *handlers) userEdit(c fiber.Ctx) error {
	a, err := h.userOf(c)
	if err != nil {
		return err
	}
	return h.renderUserForm(c, fiber.StatusOK, a, userForm{Name: a.Name, Email: a.Email, RoleID: a.RoleID}, nil)
}

// userUpdate saves an admin's name, email and role. A new email signs the
// admin out everywhere (but the editor's own session when it is theirs);
// the last owner keeps the Owner role.
func (h *handlers) userUpdate(c fiber.Ctx) error {
	a, err := h.userOf(c)
	if err != nil {
		return err
	}
	form := readUserForm(c)
	keep := int64(0)
	if a.ID == currentAdmin(c).ID {
		keep = currentSession(c)
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		_, err := admins.Update(ctx, tx, source(c), a.ID, admins.Changes{
			Name: fields.Some(form.Name), Email: fields.Some(form.Email), RoleID: fields.Some(form.RoleID),
		}, keep)
		return err
	})
	if verr, ok := fields.As(err); ok {
		return h.renderUserForm(c, fiber.StatusUnprocessableEntity, a, form, verr.Map())
	}
	if errors.Is(err, admins.ErrLastOwner) {
		return h.renderUserForm(c, fiber.StatusUnprocessableEntity, a, form, map[string]string{"role_id": "This is the only active owner: make another admin an owner first."})
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, "Saved "+form.Name+".")
	return web.Redirect(c, fiber.StatusSeeOther, usersPath)
}

func (h *handlers) renderUserForm(c fiber.Ctx, status int, a *admins.Admin, form userForm, errs map[string]string) error {
	roles, err := admins.ListRoles(c.Context(), h.db)
	if err != nil {
		return err
	}
	if errs == nil {
		errs = map[string]string{}
	}
	title, action := "Invite an admin", usersPath+"/invite"
	if a != nil {
		title, action = "Edit "+a.Name, fmt.Sprintf("%s/%d/edit", usersPath, a.ID)
	}
	return web.Render(c, status, web.View{
		Page: "admin/users/form", Layout: "layouts/admin", Fragment: "admin/users/form/fields",
		Data: fiber.Map{"Title": title, "Section": "users", "User": a, "Form": form, "Errors": errs, "RoleOptions": roleOptions(roles), "Action": action},
	})
}

// roleOptions are the choices of the form's role: each role's name and
// what it is for.
func roleOptions(roles []admins.Role) []web.Option {
	list := make([]web.Option, len(roles))
	for i, r := range roles {
		list[i] = web.Option{Value: strconv.FormatInt(r.ID, 10), Label: r.Name}
		if r.Description != "" {
			list[i].Label += " — " + r.Description
		}
	}
	return list
}

// userAction runs one of the users page's row actions and goes back to the
// list with its message; the refusals (oneself, the last owner) are
// flashed.
func (h *handlers) userAction(c fiber.Ctx, do func(ctx context.Context, tx bun.IDB, a *admins.Admin) (string, error)) error {
	a, err := h.userOf(c)
	if err != nil {
		return err
	}
	var msg string
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		var err error
		msg, err = do(ctx, tx, a)
		return err
	})
	switch {
	case errors.Is(err, admins.ErrLastOwner):
		web.AddFlash(c, web.FlashError, a.Name+" is the only active owner: make another admin an owner first.")
	case errors.Is(err, admins.ErrSelf):
		web.AddFlash(c, web.FlashError, "You cannot do this to your own account.")
	case err != nil:
		return err
	default:
		web.AddFlash(c, web.FlashSuccess, msg)
	}
	return web.Redirect(c, fiber.StatusSeeOther, web.LocalPath(c.FormValue("back"), usersPath))
}

// userDisable stops an admin from signing in and signs them out
// everywhere.
func (h *handlers) userDisable(c fiber.Ctx) error {
	return h.userAction(c, func(ctx context.Context, tx bun.IDB, a *admins.Admin) (string, error) {
		_, err := admins.Disable(ctx, tx, source(c), a.ID)
		return "Disabled " + a.Name + " and signed them out everywhere.", err
	})
}

// userEnable lets a disabled admin sign in again.
func (h *handlers) userEnable(c fiber.Ctx) error {
	return h.userAction(c, func(ctx context.Context, tx bun.IDB, a *admins.Admin) (string, error) {
		_, err := admins.Enable(ctx, tx, source(c), a.ID)
		return "Enabled " + a.Name + ".", err
	})
}

// userDelete deletes an admin (never oneself, never the last owner); the
// activity log keeps their name on what they did.
func (h *handlers) userDelete(c fiber.Ctx) error {
	return h.userAction(c, func(ctx context.Context, tx bun.IDB, a *admins.Admin) (string, error) {
		_, err := admins.Delete(ctx, tx, source(c), a.ID)
		return "Deleted " + a.Name + ".", err
	})
}

// userSignOut ends every session of an admin.
func (h *handlers) userSignOut(c fiber.Ctx) error {
	return h.userAction(c, func(ctx context.Context, tx bun.IDB, a *admins.Admin) (string, error) {
		keep := int64(0)
		if a.ID == currentAdmin(c).ID {
			keep = currentSession(c)
		}
		n, err := admins.SignOut(ctx, tx, source(c), a, keep)
		return fmt.Sprintf("Signed %s out of %d session(s).", a.Name, n), err
	})
}

// userResetTwoFactor turns another admin's two-factor sign-in off (a lost
// device); they set it up again, at their next sign-in when the console
// requires it. Logged.
func (h *handlers) userResetTwoFactor(c fiber.Ctx) error {
	return h.userAction(c, func(ctx context.Context, tx bun.IDB, a *admins.Admin) (string, error) {
		if a.ID == currentAdmin(c).ID {
			return "", admins.ErrSelf
		}
		had, err := admins.ResetTwoFactor(ctx, tx, h.twoFactor, source(c), a)
		if err != nil {
			return "", err
		}
		if !had {
			return a.Name + " had no two-factor sign-in to reset.", nil
		}
		return "Reset the two-factor sign-in of " + a.Name + ".", nil
	})
}
