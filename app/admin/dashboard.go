package admin

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/web"
)

// dashboardCard links to a section of the console.
type dashboardCard struct {
	Href, Icon, Title, Text string
}

var dashboardCards = []dashboardCard{
	{"/admin/customers", "customers", "Customers", "Accounts, client IDs and their licenses."},
	{"/admin/products", "products", "Products", "Products, versions and update files."},
	{"/admin/licenses", "licenses", "Licenses", "Issue, renew, block and export licenses."},
	{"/admin/activations", "activations", "Activations", "Where each license is in use."},
}

// dashboard is the console's home page.
func (h *handlers) dashboard(c fiber.Ctx) error {
	n, err := admins.Count(c.Context(), h.db)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page:   "admin/dashboard",
		Layout: "layouts/admin",
		Data: fiber.Map{
			"Title":      "Dashboard",
			"Section":    "dashboard",
			"Cards":      dashboardCards,
			"AdminCount": n,
		},
	})
}
