package admin

import (
	"time"

	"github.com/gofiber/fiber/v3"
)

// createdRange is a list's created-date filter: ?from= and ?to=, whole
// days (YYYY-MM-DD) in the settings' timezone, both inclusive. Values that
// do not parse are dropped (the form shows them empty).
type createdRange struct {
	From, To         string
	fromAt, beforeAt time.Time // CreatedFrom (inclusive), CreatedTo (exclusive)
}

func (h *handlers) createdRangeOf(c fiber.Ctx) (createdRange, error) {
	set, err := h.currentSettings(c.Context())
	if err != nil {
		return createdRange{}, err
	}
	loc := set.Location()
	var r createdRange
	if d, err := time.ParseInLocation(time.DateOnly, c.Query("from"), loc); err == nil {
		r.From, r.fromAt = c.Query("from"), d
	}
	if d, err := time.ParseInLocation(time.DateOnly, c.Query("to"), loc); err == nil {
		r.To, r.beforeAt = c.Query("to"), d.AddDate(0, 0, 1)
	}
	return r, nil
}
