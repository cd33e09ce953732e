package admin

import (
	"fmt"
	"html/template"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/charts"
	"github.com/licensor/licensor/app/reports"
	"github.com/licensor/licensor/app/web"
)

// How much the dashboard lists.
const (
	dashboardRecentShown = 10
	dashboardTopShown    = 5
	// dashboardProductsShown products get their own slice of the license
	// share; the rest are "Other".
	dashboardProductsShown = 5
)

// periodLink is one choice of a period selector.
type periodLink struct {
	Label, Href string
	Current     bool
}

// dashboard is the console's home page (docs/features.md#dashboard-and-reports): counters, the
// charts over the period chosen in ?days= (7, 30 or 90), recent
// activations and the top customers. Five queries whatever the data size.
func (h *handlers) dashboard(c fiber.Ctx) error {
	ctx, now := c.Context(), h.now()
	period := reports.ParsePeriod(c.Query("days"), reports.Periods, reports.DefaultPeriod)
	summary, err := reports.Summarize(ctx, h.read(c), now)
	if err != nil {
		return err
	}
	days, err := reports.Days(ctx, h.read(c), now, period)
	if err != nil {
		return err
	}
	recent, err := reports.RecentActivations(ctx, h.read(c), dashboardRecentShown)
	if err != nil {
		return err
	}
	top, err := reports.TopCustomers(ctx, h.read(c), periodStart(now, period), dashboardTopShown)
	if err != nil {
		return err
	}
	growth, err := reports.GrowthOver(ctx, h.read(c), now, period)
	if err != nil {
		return err
	}
	lastDay, err := reports.Last24Hours(ctx, h.read(c), now)
	if err != nil {
		return err
	}
	products, licenseTotal, err := reports.TopProducts(ctx, h.read(c), dashboardProductsShown)
	if err != nil {
		return err
	}
	health, err := reports.HealthAt(ctx, h.read(c), now)
	if err != nil {
		return err
	}
	links := make([]periodLink, len(reports.Periods))
	for i, p := range reports.Periods {
		links[i] = periodLink{Label: fmt.Sprintf("%d days", p), Href: fmt.Sprintf("/admin?days=%d", p), Current: p == period}
	}
	apiCalls := 0
	for _, d := range days {
		apiCalls += d.CallsActivate + d.CallsVerify + d.CallsDeactivate + d.CallsOther
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page:   "admin/dashboard",
		Layout: "layouts/admin",
		Data: fiber.Map{
			"Title": "Dashboard", "Section": "dashboard",
			"Period": period, "Periods": links,
			"Summary": summary, "APICalls": apiCalls,
			"Charts": dashboardCharts(days, summary, period, products, licenseTotal),
			"Growth": growth, "Since": periodStart(now, period).Format(time.DateOnly),
			"LastDay": lastDay, "Products": products, "Health": health,
			"LastDayFrom": now.Add(-24 * time.Hour).UTC().Format(time.DateOnly),
			"Recent":      recent,
			"Rankings":    rankingViews(top, true), "TopEmpty": top.Empty(),
		},
	})
}

// periodStart is midnight UTC at the start of the last days days (today
// included): the same first day the daily charts show.
func periodStart(now time.Time, days int) time.Time {
	return now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
}

// dashboardCharts draws the dashboard's four charts. Their data-chart
// names (activations, customers, licenses-status, api-calls) are what the
// browser tests look for.
func dashboardCharts(days []reports.Day, s reports.Summary, period int, products []reports.ProductLicenses, licenseTotal int) map[string]template.HTML {
	labels := make([]string, len(days))
	newLicenses, downloads := make([]float64, len(days)), make([]float64, len(days))
	succeeded, failed, customers := make([]float64, len(days)), make([]float64, len(days)), make([]float64, len(days))
	activate, verify, deactivate, other := make([]float64, len(days)), make([]float64, len(days)), make([]float64, len(days)), make([]float64, len(days))
	for i, d := range days {
		labels[i] = d.Date.Format("Jan 2")
		succeeded[i], failed[i] = float64(d.Activations), float64(d.FailedActivations)
		customers[i] = float64(d.Customers)
		activate[i], verify[i] = float64(d.CallsActivate), float64(d.CallsVerify)
		deactivate[i], other[i] = float64(d.CallsDeactivate), float64(d.CallsOther)
		newLicenses[i], downloads[i] = float64(d.NewLicenses), float64(d.Downloads)
	}
	share := make([]charts.Slice, 0, len(products)+1)
	rest := licenseTotal
	for _, p := range products {
		share = append(share, charts.Slice{Label: p.Name, Value: float64(p.Licenses)})
		rest -= p.Licenses
	}
	if rest > 0 {
		share = append(share, charts.Slice{Label: "Other products", Value: float64(rest)})
	}
	over := fmt.Sprintf("over the last %d days", period)
	return map[string]template.HTML{
		"activations": charts.Line(charts.XY{
			Name: "activations", Title: "Activations per day " + over, Labels: labels,
			Series: []charts.Series{{Name: "Succeeded", Values: succeeded}, {Name: "Failed", Values: failed, Class: "status-blocked"}},
			Empty:  "No activations in this period",
		}),
		"customers": charts.Line(charts.XY{
			Name: "customers", Title: "Customers at the end of each day " + over, Labels: labels,
			Series: []charts.Series{{Name: "Customers", Values: customers}},
			Empty:  "No customers yet",
		}),
		"licenses-status": charts.Donut{
			Name: "licenses-status", Title: "Licenses by status", CenterLabel: "licenses", Empty: "No licenses yet",
			Slices: []charts.Slice{
				{Label: "Active", Value: float64(s.ActiveLicenses), Class: "status-active"},
				{Label: "Expired", Value: float64(s.ExpiredLicenses), Class: "status-expired"},
				{Label: "Blocked", Value: float64(s.BlockedLicenses), Class: "status-blocked"},
			},
		}.HTML(),
		"licenses-by-product": charts.Donut{
			Name: "licenses-by-product", Title: "Licenses by product", CenterLabel: "licenses", Empty: "No licenses yet",
			Slices: share,
		}.HTML(),
		"issued": charts.Line(charts.XY{
			Name: "issued", Title: "New licenses, activations and downloads per day " + over, Labels: labels,
			Series: []charts.Series{{Name: "New licenses", Values: newLicenses}, {Name: "Activations", Values: succeeded}, {Name: "Downloads", Values: downloads}},
			Empty:  "No new licenses, activations or downloads in this period",
		}),
		"api-calls": charts.Bars(charts.XY{
			Name: "api-calls", Title: "API calls per day by endpoint " + over, Labels: labels,
			Series: []charts.Series{{Name: "Activate", Values: activate}, {Name: "Verify", Values: verify}, {Name: "Deactivate", Values: deactivate}, {Name: "Other", Values: other}},
			Empty:  "No API calls in this period",
		}),
	}
}

// rankingView is one top-customer ranking as the templates draw it.
type rankingView struct {
	Key, Title, Measure string
	Rows                []rankedRow
	// Compact leaves out the emails (the dashboard's narrow columns).
	Compact bool
}

// rankedRow is a customer's place in a ranking and the measure ranked by.
type rankedRow struct {
	reports.TopCustomer
	Rank, Value int
}

func rankingViews(r reports.Rankings, compact bool) []rankingView {
	view := func(key, title, measure string, rows []reports.TopCustomer, value func(reports.TopCustomer) int) rankingView {
		v := rankingView{Key: key, Title: title, Measure: measure, Rows: make([]rankedRow, len(rows)), Compact: compact}
		for i, t := range rows {
			v.Rows[i] = rankedRow{TopCustomer: t, Rank: i + 1, Value: value(t)}
		}
		return v
	}
	return []rankingView{
		view("licenses", "By licenses", "Licenses", r.ByLicenses, func(t reports.TopCustomer) int { return t.Licenses }),
		view("products", "By products", "Products", r.ByProducts, func(t reports.TopCustomer) int { return t.Products }),
		view("activations", "By activations", "Activations", r.ByActivations, func(t reports.TopCustomer) int { return t.Activations }),
	}
}
