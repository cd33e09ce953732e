package admin

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/reports"
	"github.com/licensor/licensor/app/web"
)

// reportTopShown is how many customers each ranking of the report lists.
const reportTopShown = 25

// reportPeriods are the top-customers report's periods in days; 0 (the
// default) is all time.
var reportPeriods = []int{7, 30, 90, 365}

// topCustomersReport ranks customers by licenses, by products and by
// activations (docs/features.md#dashboard-and-reports) over ?days= (7, 30, 90, 365 or all time).
func (h *handlers) topCustomersReport(c fiber.Ctx) error {
	now := h.now()
	period := reports.ParsePeriod(c.Query("days"), reportPeriods, 0)
	var since time.Time
	if period > 0 {
		since = periodStart(now, period)
	}
	top, err := reports.TopCustomers(c.Context(), h.read(c), since, reportTopShown)
	if err != nil {
		return err
	}
	links := []periodLink{{Label: "All time", Href: "/admin/reports/top-customers", Current: period == 0}}
	for _, p := range reportPeriods {
		links = append(links, periodLink{Label: fmt.Sprintf("%d days", p), Href: fmt.Sprintf("/admin/reports/top-customers?days=%d", p), Current: p == period})
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/reports/top-customers", Layout: "layouts/admin",
		Data: fiber.Map{
			"Title": "Top customers", "Section": "reports",
			"Period": period, "Periods": links, "Since": since,
			"Rankings": rankingViews(top, false), "TopEmpty": top.Empty(), "Shown": reportTopShown,
		},
	})
}
