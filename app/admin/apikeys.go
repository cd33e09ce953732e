package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// apiKeyColumns are the API key list's columns.
var apiKeyColumns = []web.Column{
	{Key: "name", Label: "Name", SortKey: "name"},
	{Key: "type", Label: "Type", SortKey: "type", Optional: true},
	{Key: "hint", Label: "Key ends in", Optional: true},
	{Key: "scopes", Label: "Scopes", Class: "num", Optional: true},
	{Key: "special", Label: "Special", Optional: true, Hidden: true},
	{Key: "last_used", Label: "Last used", SortKey: "last_used_at", Optional: true},
	{Key: "expires", Label: "Expires", SortKey: "expires_at", Optional: true},
	{Key: "created", Label: "Created", SortKey: "created_at", Optional: true, Hidden: true},
}

// apiKeysFilter is the API key list's query besides the page.
type apiKeysFilter struct {
	Search, Type, Status, Sort string
	createdRange
}

// apiKeysFilterOf reads the API key list's query.
func (h *handlers) apiKeysFilterOf(c fiber.Ctx) (apiKeysFilter, apikeys.Filter, error) {
	q := apiKeysFilter{Search: strings.TrimSpace(c.Query("q")), Type: c.Query("type"), Status: c.Query("status"), Sort: c.Query("sort")}
	if q.Type != apikeys.TypeExternal && q.Type != apikeys.TypeInternal {
		q.Type = ""
	}
	switch q.Status {
	case apikeys.StatusActive, apikeys.StatusRevoked, apikeys.StatusExpired:
	default:
		q.Status = ""
	}
	if !web.IsSort(q.Sort, apiKeyColumns) {
		q.Sort = ""
	}
	var err error
	if q.createdRange, err = h.createdRangeOf(c); err != nil {
		return q, apikeys.Filter{}, err
	}
	return q, apikeys.Filter{Search: q.Search, Type: q.Type, Status: q.Status, Now: h.now(), CreatedFrom: q.fromAt, CreatedTo: q.beforeAt}, nil
}

// apiKeysIndex lists API keys (never the keys themselves, only their
// prefixes): search (name, prefix), type, status and created-date filters,
// sort, page and page size come from the URL; htmx gets the results alone.
func (h *handlers) apiKeysIndex(c fiber.Ctx) error {
	q, f, err := h.apiKeysFilterOf(c)
	if err != nil {
		return err
	}
	page := web.ListPage(c)
	list, total, err := apikeys.List(c.Context(), h.db, f, q.Sort, page)
	if err != nil {
		return err
	}
	table := web.NewTable(c, h.allowed(currentAdmin(c), web.TableSpec{
		ID: "api-keys", Search: "Search name or key prefix", SearchValue: q.Search,
		Filters: []web.Filter{
			{Name: "type", Label: "Type", Type: "select", Value: q.Type, Options: []web.Option{
				{Value: "", Label: "All types"}, {Value: apikeys.TypeExternal, Label: "External"}, {Value: apikeys.TypeInternal, Label: "Internal"}}},
			{Name: "status", Label: "Status", Type: "select", Value: q.Status, Options: []web.Option{
				{Value: "", Label: "Any status"}, {Value: apikeys.StatusActive, Label: "Active"},
				{Value: apikeys.StatusRevoked, Label: "Revoked"}, {Value: apikeys.StatusExpired, Label: "Expired"}}},
			{Name: "from", Label: "Created from", Type: "date", Value: q.From},
			{Name: "to", Label: "Created to", Type: "date", Value: q.To},
		},
		Columns: apiKeyColumns, Sort: q.Sort, RowActions: true,
		Bulk: []web.BulkAction{
			{Label: "Revoke", Action: "/admin/api-keys/bulk-revoke", Confirm: "Revoke {n} selected API key(s)? Software using them stops working at once."},
			{Label: "Delete", Action: "/admin/api-keys/bulk-delete", Danger: true, Confirm: "Delete {n} selected API key(s)? Software using them stops working at once. This cannot be undone."},
		},
		Links: []web.Link{{Label: "New API key", URL: "/admin/api-keys/new", Primary: true}},
	}), page, total)
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/apikeys/index", Layout: "layouts/admin", Fragment: "admin/apikeys/index/results",
		Data: fiber.Map{"Title": "API keys", "Section": "api-keys", "Keys": list, "Now": f.Now, "Table": table},
	})
}

// apiKeysMatching are the ids of every API key the list's query matches.
func (h *handlers) apiKeysMatching(c fiber.Ctx) ([]int64, error) {
	q, f, err := h.apiKeysFilterOf(c)
	if err != nil {
		return nil, err
	}
	return allIDs(c.Context(), func(ctx context.Context, p listing.Page) ([]int64, int, error) {
		list, total, err := apikeys.List(ctx, h.db, f, q.Sort, p)
		ids := make([]int64, len(list))
		for i := range list {
			ids[i] = list[i].ID
		}
		return ids, total, err
	})
}

// apiKeysBulkRevoke revokes the selected keys; they stop working at once
// on every node.
func (h *handlers) apiKeysBulkRevoke(c fiber.Ctx) error {
	return h.bulkApply(c, bulkTarget{list: "/admin/api-keys", one: "API key", many: "API keys", gone: apikeys.ErrNotFound, matching: h.apiKeysMatching}, "Revoked %s.",
		func(ctx context.Context, tx bun.IDB, id int64) (bool, error) {
			_, changed, err := apikeys.Revoke(ctx, tx, source(c), id, h.now())
			return changed, err
		})
}

// apiKeysBulkDelete deletes the selected keys.
func (h *handlers) apiKeysBulkDelete(c fiber.Ctx) error {
	return h.bulkApply(c, bulkTarget{list: "/admin/api-keys", one: "API key", many: "API keys", gone: apikeys.ErrNotFound, matching: h.apiKeysMatching}, "Deleted %s.",
		func(ctx context.Context, tx bun.IDB, id int64) (bool, error) {
			_, err := apikeys.Delete(ctx, tx, source(c), id)
			return err == nil, err
		})
}

// apiKeyForm is what the create form posts; typed values go back into the
// form when validation fails.
type apiKeyForm struct {
	Name, Type, ExpiresAt, Key string
	Scopes                     []string
	Special                    bool
}

func readAPIKeyForm(c fiber.Ctx) apiKeyForm {
	f := apiKeyForm{
		Name: c.FormValue("name"), Type: c.FormValue("type"), ExpiresAt: strings.TrimSpace(c.FormValue("expires_at")),
		Key: c.FormValue("key"), Special: c.FormValue("special") == "1",
	}
	if f.Type != apikeys.TypeInternal {
		f.Type = apikeys.TypeExternal
	}
	args := c.Request().PostArgs()
	if string(c.Request().Header.Method()) == fiber.MethodGet {
		args = c.Request().URI().QueryArgs()
	}
	for _, v := range args.PeekMulti("scopes") {
		f.Scopes = append(f.Scopes, string(v))
	}
	return f
}

// apiKeyNew shows the create form, every scope of the type ticked. htmx
// asks again when the type changes (hx-select takes the scopes).
func (h *handlers) apiKeyNew(c fiber.Ctx) error {
	form := readAPIKeyForm(c)
	form.Scopes = apikeys.ScopesFor(form.Type)
	return h.renderAPIKeyForm(c, fiber.StatusOK, form, nil)
}

// apiKeyCreate stores the key (hashed) and shows it once; it is never
// shown again.
func (h *handlers) apiKeyCreate(c fiber.Ctx) error {
	form := readAPIKeyForm(c)
	errs := map[string]string{}
	if len(form.Scopes) == 0 && !form.Special {
		errs["scopes"] = "Choose at least one scope, or give the key special permissions."
	}
	var expires *time.Time
	if form.ExpiresAt != "" {
		set, err := h.currentSettings(c.Context())
		if err != nil {
			return err
		}
		t, err := time.ParseInLocation("2006-01-02", form.ExpiresAt, set.Location())
		if err != nil {
			errs["expires_at"] = "The expires at field must be a valid date."
		} else {
			expires = &t
		}
	}
	if len(errs) > 0 {
		return h.renderAPIKeyForm(c, fiber.StatusUnprocessableEntity, form, errs)
	}
	var plain string
	var key *apikeys.Key
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		var err error
		plain, key, err = apikeys.Create(ctx, tx, apikeys.CreateParams{
			Name: form.Name, Type: form.Type, Scopes: form.Scopes, Special: form.Special, ExpiresAt: expires, Key: form.Key,
		}, h.now())
		if err != nil {
			return err
		}
		return apikeys.RecordCreated(ctx, tx, source(c), key)
	})
	var verr *apikeys.ValidationError
	if errors.As(err, &verr) {
		return h.renderAPIKeyForm(c, fiber.StatusUnprocessableEntity, form, verr.Fields)
	}
	if errors.Is(err, apikeys.ErrKeyTaken) {
		return h.renderAPIKeyForm(c, fiber.StatusUnprocessableEntity, form, map[string]string{"key": "This key is already in use."})
	}
	if err != nil {
		return err
	}
	// The page holds the key: no cache may keep it.
	c.Set(fiber.HeaderCacheControl, "no-store")
	return web.Render(c, fiber.StatusCreated, web.View{
		Page: "admin/apikeys/created", Layout: "layouts/admin",
		Data: fiber.Map{
			"Title": "API key created", "Section": "api-keys", "Key": key, "Plain": plain,
		},
	})
}

// renderAPIKeyForm draws the create form; htmx requests get the form alone.
func (h *handlers) renderAPIKeyForm(c fiber.Ctx, status int, form apiKeyForm, errs map[string]string) error {
	type scopeBox struct {
		Name    string
		Checked bool
	}
	type group struct {
		Area   string
		Scopes []scopeBox
	}
	var groups []group
	for _, g := range apikeys.GroupedScopes(form.Type) {
		gr := group{Area: g.Area}
		for _, s := range g.Scopes {
			gr.Scopes = append(gr.Scopes, scopeBox{Name: s, Checked: slices.Contains(form.Scopes, s)})
		}
		groups = append(groups, gr)
	}
	form.Key = strings.TrimSpace(form.Key)
	return web.Render(c, status, web.View{
		Page: "admin/apikeys/new", Layout: "layouts/admin", Fragment: "admin/apikeys/form",
		Data: fiber.Map{
			"Title": "New API key", "Section": "api-keys", "Form": form, "Errors": errs, "Groups": groups,
			"MaxExpiry": h.now().AddDate(1, 0, 0).Format("2006-01-02"), "MinExpiry": h.now().AddDate(0, 0, 1).Format("2006-01-02"),
			"MinKey": apikeys.MinCustomLen,
		},
	})
}

// apiKeyRevoke revokes a key; every node refuses it within a second.
func (h *handlers) apiKeyRevoke(c fiber.Ctx) error {
	id, err := apiKeyID(c)
	if err != nil {
		return err
	}
	var k *apikeys.Key
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		k, _, err = apikeys.Revoke(ctx, tx, source(c), id, h.now())
		return err
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("API key %s revoked.", k.Name))
	return web.Redirect(c, fiber.StatusSeeOther, web.LocalPath(c.FormValue("back"), "/admin/api-keys"))
}

// apiKeyDelete deletes a key.
func (h *handlers) apiKeyDelete(c fiber.Ctx) error {
	id, err := apiKeyID(c)
	if err != nil {
		return err
	}
	var k *apikeys.Key
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		k, err = apikeys.Delete(ctx, tx, source(c), id)
		return err
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("API key %s deleted.", k.Name))
	return web.Redirect(c, fiber.StatusSeeOther, web.LocalPath(c.FormValue("back"), "/admin/api-keys"))
}

func apiKeyID(c fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}
