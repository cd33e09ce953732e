package admin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// activityActorTypes are the actor filter's choices.
var activityActorTypes = []string{audit.ActorAdmin, audit.ActorAPIKey, audit.ActorCustomer, audit.ActorSystem}

// activityFilter is the activity log's query besides the page.
type activityFilter struct {
	Search, Type, Actor, From, To, Sort string
}

// activityColumns are the activity log's columns.
var activityColumns = []web.Column{
	{Key: "time", Label: "Time", SortKey: "created_at"},
	{Key: "type", Label: "Type", SortKey: "type", Optional: true},
	{Key: "actor", Label: "Actor", SortKey: "actor_name", Optional: true},
	{Key: "ip", Label: "IP", Optional: true, Hidden: true},
	{Key: "message", Label: "Message"},
}

// activityRow is one entry with the console page of its subject.
type activityRow struct {
	audit.Activity
	Link string
}

// activityFilterOf reads the activity log's query.
func activityFilterOf(c fiber.Ctx) (activityFilter, audit.Filter) {
	q := activityFilter{
		Search: strings.TrimSpace(c.Query("q")), Type: strings.TrimSpace(c.Query("type")),
		Actor: c.Query("actor"), From: c.Query("from"), To: c.Query("to"), Sort: c.Query("sort"),
	}
	if !web.IsSort(q.Sort, activityColumns) {
		q.Sort = ""
	}
	f := audit.Filter{Search: q.Search}
	if q.Type != "" {
		f.Types = []string{q.Type}
	}
	if slices.Contains(activityActorTypes, q.Actor) {
		f.ActorType = q.Actor
	} else {
		q.Actor = ""
	}
	if d, err := time.Parse(time.DateOnly, q.From); err == nil {
		f.From = d
	} else {
		q.From = ""
	}
	if d, err := time.Parse(time.DateOnly, q.To); err == nil {
		f.To = d.AddDate(0, 0, 1)
	} else {
		q.To = ""
	}
	return q, f
}

// activityIndex is the activity log: search, type, actor and date
// filters, sort, page and page size come from the URL.
func (h *handlers) activityIndex(c fiber.Ctx) error {
	q, f := activityFilterOf(c)
	page := web.ListPage(c)
	list, total, err := audit.List(c.Context(), h.db, f, q.Sort, page)
	if err != nil {
		return err
	}
	rows := make([]activityRow, len(list))
	for i, a := range list {
		rows[i] = activityRow{Activity: a, Link: subjectLink(a)}
	}
	var types []string
	if err := h.db.NewRaw("SELECT DISTINCT type FROM activity_log ORDER BY type").Scan(c.Context(), &types); err != nil {
		return err
	}
	typeOptions := []web.Option{{Value: "", Label: "All types"}}
	for _, t := range types {
		typeOptions = append(typeOptions, web.Option{Value: t, Label: t})
	}
	actorOptions := []web.Option{{Value: "", Label: "All actors"}}
	for _, a := range activityActorTypes {
		actorOptions = append(actorOptions, web.Option{Value: a, Label: a})
	}
	table := web.NewTable(c, h.allowed(currentAdmin(c), web.TableSpec{
		ID: "activity", Search: "Search messages", SearchValue: q.Search,
		Filters: []web.Filter{
			{Name: "type", Label: "Type", Type: "select", Options: typeOptions, Value: q.Type},
			{Name: "actor", Label: "Actor", Type: "select", Options: actorOptions, Value: q.Actor},
			{Name: "from", Label: "From", Type: "date", Value: q.From},
			{Name: "to", Label: "To", Type: "date", Value: q.To},
		},
		Columns: activityColumns, Sort: q.Sort,
		Bulk: []web.BulkAction{
			{Label: "Delete", Action: "/admin/activity/bulk-delete", Danger: true,
				Confirm: "Delete {n} selected entr(ies) from the activity log? This cannot be undone; the deletion itself is logged."},
		},
	}), page, total)
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/activity/index", Layout: "layouts/admin", Fragment: "admin/activity/index/results",
		Data: fiber.Map{"Title": "Activity log", "Section": "activity", "Entries": rows, "Table": table},
	})
}

// subjectLink is the console page of the entry's subject, or "".
func subjectLink(a audit.Activity) string {
	if a.SubjectType == nil || a.SubjectID == nil {
		return ""
	}
	switch *a.SubjectType {
	case audit.SubjectCustomer, audit.SubjectProduct, audit.SubjectLicense, audit.SubjectActivation:
		return fmt.Sprintf("/admin/%ss/%d", *a.SubjectType, *a.SubjectID)
	}
	return ""
}

// activityBulkDelete deletes the selected entries ("delete selected") and
// records that it did, so removing history leaves a trace.
func (h *handlers) activityBulkDelete(c fiber.Ctx) error {
	ids, back := selectedIDs(c), web.LocalPath(c.FormValue("back"), "/admin/activity")
	if c.FormValue("all") == "1" {
		q, f := activityFilterOf(c)
		var err error
		if ids, err = allIDs(c.Context(), func(ctx context.Context, p listing.Page) ([]int64, int, error) {
			list, total, err := audit.List(ctx, h.db, f, q.Sort, p)
			ids := make([]int64, len(list))
			for i := range list {
				ids[i] = list[i].ID
			}
			return ids, total, err
		}); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		web.AddFlash(c, web.FlashError, "Select the entries first.")
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	by := source(c)
	var n int
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		var err error
		n, err = audit.Delete(ctx, tx, by, ids)
		return err
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Deleted %s.", plural(n, "entry", "entries")))
	return web.Redirect(c, fiber.StatusSeeOther, back)
}
