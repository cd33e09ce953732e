package admin

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// searchHits is how many matches of each kind the global search shows;
// "See all" opens the kind's list searched for the same text.
const searchHits = 5

// searchMaxLen bounds what the search box sends.
const searchMaxLen = 200

// searchHit is one match of the global search.
type searchHit struct {
	Title, Detail, URL, Badge string
	Mono                      bool
}

// searchGroup is one kind of match (customers, licenses, …).
type searchGroup struct {
	Label, AllURL string
	Total         int
	Hits          []searchHit
}

// search is the global search (Ctrl/⌘+K in the console's header): the
// customers (name, email, client ID), licenses (code, customer ID, email),
// products (name, reference) and activations (code, domain, IP) matching
// q, each kind only for admins who may view it, each through its list's
// own search. htmx asks for the results alone; without JavaScript it is a
// page.
func (h *handlers) search(c fiber.Ctx) error {
	q := strings.TrimSpace(c.Query("q"))
	if utf8.RuneCountInString(q) > searchMaxLen {
		q = string([]rune(q)[:searchMaxLen])
	}
	var groups []searchGroup
	if q != "" {
		var err error
		if groups, err = h.searchGroups(c, q); err != nil {
			return err
		}
	}
	found := 0
	for _, g := range groups {
		found += len(g.Hits)
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/search", Layout: "layouts/admin", Fragment: "admin/search/results",
		Data: fiber.Map{"Title": "Search", "Query": q, "Groups": groups, "Found": found},
	})
}

func (h *handlers) searchGroups(c fiber.Ctx, q string) ([]searchGroup, error) {
	ctx, a, now := c.Context(), currentAdmin(c), h.now()
	page := listing.Page{PerPage: searchHits}
	all := func(path string) string { return path + "?q=" + url.QueryEscape(q) }
	var groups []searchGroup
	if a.Can(admins.CustomersView) {
		list, total, err := customers.List(ctx, h.db, customers.Filter{Search: q}, "name", page)
		if err != nil {
			return nil, fmt.Errorf("search customers: %w", err)
		}
		g := searchGroup{Label: "Customers", AllURL: all("/admin/customers"), Total: total}
		for _, cu := range list {
			g.Hits = append(g.Hits, searchHit{Title: cu.Name, Detail: cu.Email + " · " + cu.ClientID, URL: fmt.Sprintf("/admin/customers/%d", cu.ID)})
		}
		groups = append(groups, g)
	}
	if a.Can(admins.LicensesView) {
		list, total, err := licensing.ListLicenses(ctx, h.db, licensing.LicenseFilter{Search: q}, "-created_at", page, now)
		if err != nil {
			return nil, fmt.Errorf("search licenses: %w", err)
		}
		g := searchGroup{Label: "Licenses", AllURL: all("/admin/licenses"), Total: total}
		for i := range list {
			l := &list[i]
			detail := l.ProductName
			if l.Email != nil {
				detail += " · " + *l.Email
			} else if l.CustomerID != nil {
				detail += " · " + *l.CustomerID
			}
			g.Hits = append(g.Hits, searchHit{Title: l.LicenseCode, Detail: detail, URL: fmt.Sprintf("/admin/licenses/%d", l.ID),
				Badge: l.Status(now), Mono: true})
		}
		groups = append(groups, g)
	}
	if a.Can(admins.ProductsView) {
		list, total, err := catalog.ListProducts(ctx, h.db, catalog.ProductFilter{Search: q}, "name", page)
		if err != nil {
			return nil, fmt.Errorf("search products: %w", err)
		}
		g := searchGroup{Label: "Products", AllURL: all("/admin/products"), Total: total}
		for _, p := range list {
			g.Hits = append(g.Hits, searchHit{Title: p.Name, Detail: p.ReferenceID, URL: fmt.Sprintf("/admin/products/%d", p.ID)})
		}
		groups = append(groups, g)
	}
	if a.Can(admins.ActivationsView) {
		list, total, err := licensing.ListActivations(ctx, h.db, licensing.ActivationFilter{Search: q}, "-activated_at", page)
		if err != nil {
			return nil, fmt.Errorf("search activations: %w", err)
		}
		g := searchGroup{Label: "Activations", AllURL: all("/admin/activations"), Total: total}
		for _, act := range list {
			title := act.LicenseCode
			switch {
			case act.Domain != nil && *act.Domain != "":
				title = *act.Domain
			case act.IP != nil && *act.IP != "":
				title = *act.IP
			}
			state := "inactive"
			if act.IsActive {
				state = "active"
			}
			g.Hits = append(g.Hits, searchHit{Title: title, Detail: act.ProductReferenceID + " · " + act.LicenseCode,
				URL: fmt.Sprintf("/admin/activations/%d", act.ID), Badge: state})
		}
		groups = append(groups, g)
	}
	return groups, nil
}
