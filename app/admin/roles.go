package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/web"
)

const rolesPath = "/admin/roles"

// rolesIndex lists the roles with their permissions and admins: the four
// built-in ones, then custom ones.
func (h *handlers) rolesIndex(c fiber.Ctx) error {
	roles, err := admins.ListRoles(c.Context(), h.db)
	if err != nil {
		return err
	}
	type roleRow struct {
		admins.Role
		Count int
		All   bool
	}
	all := len(admins.AllPermissions())
	rows := make([]roleRow, len(roles))
	for i, r := range roles {
		rows[i] = roleRow{Role: r, Count: len(r.Permissions()), All: len(r.Permissions()) == all}
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/roles/index", Layout: "layouts/admin",
		Data: fiber.Map{"Title": "Roles", "Section": "roles", "Roles": rows},
	})
}

type roleForm struct {
	Name, Description string
	Permissions       []string
}

func readRoleForm(c fiber.Ctx) roleForm {
	f := roleForm{Name: c.FormValue("name"), Description: c.FormValue("description")}
	for _, v := range c.Request().PostArgs().PeekMulti("permissions") {
		f.Permissions = append(f.Permissions, string(v))
	}
	return f
}

// roleNew shows the form of a new custom role.
func (h *handlers) roleNew(c fiber.Ctx) error {
	return h.renderRoleForm(c, fiber.StatusOK, nil, roleForm{}, nil)
}

// roleCreate stores a custom role.
func (h *handlers) roleCreate(c fiber.Ctx) error {
	form := readRoleForm(c)
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		_, err := admins.CreateRole(ctx, tx, source(c), admins.RoleParams(form))
		return err
	})
	if verr, ok := fields.As(err); ok {
		return h.renderRoleForm(c, fiber.StatusUnprocessableEntity, nil, form, verr.Map())
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, "Created the role "+form.Name+".")
	return web.Redirect(c, fiber.StatusSeeOther, rolesPath)
}

func (h *handlers) roleOf(c fiber.Ctx) (*admins.Role, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return nil, fiber.ErrNotFound
	}
	r, err := admins.GetRole(c.Context(), h.db, id)
	return r, err
}

// roleEdit shows a role: a custom one's form, a built-in one read-only.
func (h *handlers) roleEdit(c fiber.Ctx) error {
	r, err := h.roleOf(c)
	if err != nil {
		return err
	}
	form := roleForm{Name: r.Name, Description: r.Description}
	for _, p := range r.Permissions() {
		form.Permissions = append(form.Permissions, string(p))
	}
	return h.renderRoleForm(c, fiber.StatusOK, r, form, nil)
}

// roleUpdate saves a custom role; its admins have the new permissions at
// their next request.
func (h *handlers) roleUpdate(c fiber.Ctx) error {
	r, err := h.roleOf(c)
	if err != nil {
		return err
	}
	form := readRoleForm(c)
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		_, err := admins.UpdateRole(ctx, tx, source(c), r.ID, admins.RoleParams(form))
		return err
	})
	if verr, ok := fields.As(err); ok {
		return h.renderRoleForm(c, fiber.StatusUnprocessableEntity, r, form, verr.Map())
	}
	if errors.Is(err, admins.ErrRoleBuiltin) {
		return fiber.NewError(fiber.StatusForbidden, "Built-in roles cannot be changed. Create a custom role instead.")
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, "Saved the role "+form.Name+".")
	return web.Redirect(c, fiber.StatusSeeOther, rolesPath)
}

// roleDelete deletes a custom role no admin has.
func (h *handlers) roleDelete(c fiber.Ctx) error {
	r, err := h.roleOf(c)
	if err != nil {
		return err
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error { return admins.DeleteRole(ctx, tx, source(c), r.ID) })
	switch {
	case errors.Is(err, admins.ErrRoleBuiltin):
		web.AddFlash(c, web.FlashError, "Built-in roles cannot be deleted.")
	case errors.Is(err, admins.ErrRoleInUse):
		web.AddFlash(c, web.FlashError, fmt.Sprintf("The role %s still has admins: give them another role first.", r.Name))
	case err != nil:
		return err
	default:
		web.AddFlash(c, web.FlashSuccess, "Deleted the role "+r.Name+".")
	}
	return web.Redirect(c, fiber.StatusSeeOther, rolesPath)
}

func (h *handlers) renderRoleForm(c fiber.Ctx, status int, r *admins.Role, form roleForm, errs map[string]string) error {
	type box struct {
		Value, Label string
		Checked      bool
	}
	type group struct {
		Area  string
		Boxes []box
	}
	var groups []group
	for _, g := range admins.PermissionGroups() {
		gr := group{Area: g.Area}
		for _, p := range g.Permissions {
			gr.Boxes = append(gr.Boxes, box{Value: string(p.Permission), Label: p.Label, Checked: slices.Contains(form.Permissions, string(p.Permission))})
		}
		groups = append(groups, gr)
	}
	if errs == nil {
		errs = map[string]string{}
	}
	title, action := "New role", rolesPath
	if r != nil {
		title, action = r.Name, fmt.Sprintf("%s/%d/edit", rolesPath, r.ID)
	}
	return web.Render(c, status, web.View{
		Page: "admin/roles/form", Layout: "layouts/admin",
		Data: fiber.Map{"Title": title, "Section": "roles", "Role": r, "Form": form, "Groups": groups, "Errors": errs, "Action": action,
			"ReadOnly": r != nil && r.IsBuiltin()},
	})
}
