package admin

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/web"
)

const activityPerPage = 50

// activityActorTypes are the actor types the list filters by.
var activityActorTypes = []string{audit.ActorAdmin, audit.ActorAPIKey, audit.ActorCustomer, audit.ActorSystem}

// activityFilter is the activity list's query besides the page.
type activityFilter struct {
	Search, Type, Actor, From, To string
}

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
		Actor: c.Query("actor"), From: c.Query("from"), To: c.Query("to"),
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
	list, total, err := audit.List(c.Context(), h.db, f, page)
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
