package admin

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/web"
)

// bulkTarget names what a bulk action works on.
type bulkTarget struct {
	list      string // the list page to go back to when the form names none
	one, many string // "license", "licenses"
	gone      error  // the domain's not-found error: such ids are skipped
	// matching lists the ids of every row the list's query matches (the
	// query rides on the bulk form's URL), for all=1: "select all M
	// matching". Nil: only the checked rows.
	matching func(c fiber.Ctx) ([]int64, error)
}

// bulkStep changes one selected row and says whether anything changed.
type bulkStep func(ctx context.Context, tx bun.IDB, id int64) (bool, error)

// bulkApply runs step on every selected row (form field ids, or with
// all=1 every row the list's query matches) in one transaction, skipping
// rows already gone, then flashes done (a format with one %s for the
// count, e.g. "Deleted %s.") and goes back to the list as it was (form
// field back, local paths only).
func (h *handlers) bulkApply(c fiber.Ctx, t bulkTarget, done string, step bulkStep) error {
	ids, back := selectedIDs(c), web.LocalPath(c.FormValue("back"), t.list)
	if c.FormValue("all") == "1" && t.matching != nil {
		var err error
		if ids, err = t.matching(c); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		web.AddFlash(c, web.FlashError, fmt.Sprintf("Select the %s first.", t.many))
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	n := 0
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		for _, id := range ids {
			changed, err := step(ctx, tx, id)
			if errors.Is(err, t.gone) {
				continue
			}
			if err != nil {
				return err
			}
			if changed {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf(done, plural(n, t.one, t.many)))
	return web.Redirect(c, fiber.StatusSeeOther, back)
}

// selectedIDs reads the ids a bulk form posts (checked rows); malformed
// ones are skipped.
func selectedIDs(c fiber.Ctx) []int64 {
	var ids []int64
	for _, raw := range c.Request().PostArgs().PeekMulti("ids") {
		if id, err := strconv.ParseInt(string(raw), 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	return ids
}
