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
	"github.com/licensor/licensor/app/web"
)

const activityPerPage = 50

// activityActorTypes are the actor types the list filters by.
var activityActorTypes = []string{audit.ActorAdmin, audit.ActorAPIKey, audit.ActorCustomer, audit.ActorSystem}

// activityFilter is the activity list's query besides the page.
type activityFilter struct {
	Search, Type, Actor, From, To, Sort string
}

// activitySortable are the columns the activity log sorts by.
var activitySortable = []sortColumn{{"created_at", "Time"}, {"type", "Type"}, {"actor_name", "Actor"}}

// activityRow is one entry and the console page of its subject, if any.
type activityRow struct {
	audit.Activity
	Link string
}

// activityIndex lists the activity log newest first: search (message),
// type, actor type and date range (From and To inclusive days, UTC) and
// page come from the URL.
func (h *handlers) activityIndex(c fiber.Ctx) error {
	q := activityFilter{
		Search: strings.TrimSpace(c.Query("q")), Type: strings.TrimSpace(c.Query("type")),
		Actor: c.Query("actor"), From: c.Query("from"), To: c.Query("to"), Sort: c.Query("sort"),
	}
	if !isSort(q.Sort, activitySortable) {
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
	page := web.PageOf(c, activityPerPage)
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
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/activity/index", Layout: "layouts/admin", Fragment: "admin/activity/index/results",
		Data: fiber.Map{
			"Title": "Activity log", "Section": "activity", "Entries": rows, "Filter": q,
			"Types": types, "ActorTypes": activityActorTypes,
			"Filtered":   q.Search != "" || q.Type != "" || q.Actor != "" || q.From != "" || q.To != "",
			"Sorts":      sortHeaders(c, q.Sort, activitySortable),
			"Back":       c.OriginalURL(),
			"Pagination": web.Paginate(c, page, total),
		},
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
	if len(ids) == 0 {
		web.AddFlash(c, web.FlashError, "Select the entries first.")
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	by := source(c)
	var n int
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		var err error
		if n, err = audit.Delete(ctx, tx, ids); err != nil || n == 0 {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{
			Type: "activity.deleted", Actor: by.Actor, IP: by.IP,
			Message: fmt.Sprintf("%s deleted from the activity log %s.", plural(n, "entry", "entries"), by.Actor.Via()),
			Data:    map[string]any{"count": n},
		})
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Deleted %s.", plural(n, "entry", "entries")))
	return web.Redirect(c, fiber.StatusSeeOther, back)
}
