package customers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// The linking rule (docs/features.md#customers), used everywhere a customer's licenses
// matter: portal, console, API, reports, exports. A license belongs to a
// customer when its customer_id equals the customer's client ID, ignoring
// case; or, when the license has no customer_id, when its email equals the
// customer's proven email (Customer.EmailProven: confirmed by its link, or
// set by an admin, the API, an import or an order), ignoring case.
//
// It lives here rather than in licensing because what decides it is
// customer data (client ID, email, its proof); licensing imports this
// package, never the reverse. Both columns are citext, so "ignoring case" is
// plain equality, and each branch has its partial index on licenses
// (licenses_customer_id_idx, licenses_email_unlinked_idx, migration 0003).
// The three forms below are the same rule for the three shapes of question;
// TestLinkingFormsAgree checks that they give the same answers.

// LinkCondition is the rule as a join condition between a licenses alias
// and a customers alias, for set queries (counts per customer, batches).
func LinkCondition(license, customer string) string {
	return fmt.Sprintf("(%[1]s.customer_id = %[2]s.client_id OR (%[1]s.customer_id IS NULL AND %[1]s.email = %[2]s.email AND %[2]s.email_proven_at IS NOT NULL))",
		license, customer)
}

// HasLinkedLicense is an SQL condition true when the customer under alias
// has a license by the rule: LinkCondition with each branch as an IN over
// the licenses' column, which PostgreSQL runs as a hashed subplan (the
// column's values hashed once, one probe per customer). An OR inside one
// EXISTS could use no index, and two EXISTS cost an index probe per
// customer: both take a second or so over 100,000 customers.
func HasLinkedLicense(customer string) string {
	return fmt.Sprintf("(%[1]s.client_id IN (SELECT hl.customer_id FROM licenses hl WHERE hl.customer_id IS NOT NULL) OR "+
		"(%[1]s.email_proven_at IS NOT NULL AND %[1]s.email IN (SELECT hl.email FROM licenses hl WHERE hl.customer_id IS NULL AND hl.email IS NOT NULL)))",
		customer)
}

// LinkedPairs is the rule as a set: a subquery yielding one row
// (customer_id, license_id, and each of the named licenses columns) per
// license a customer has, over every customer, for reports that rank all
// customers. It is LinkCondition split into its two branches, joined with
// UNION ALL: an OR in a join condition leaves PostgreSQL only a nested loop
// over every customer (seconds at 100,000 customers), while each branch
// alone is a hash join. A license matches at most one branch, so no pair
// appears twice. licenseColumns must be plain column names of licenses.
func LinkedPairs(licenseColumns ...string) string {
	extra := ""
	for _, c := range licenseColumns {
		extra += ", ll." + c
	}
	return `SELECT lc.id AS customer_id, ll.id AS license_id` + extra + ` FROM customers lc JOIN licenses ll ON ll.customer_id = lc.client_id
	UNION ALL
	SELECT lc.id, ll.id` + extra + ` FROM customers lc JOIN licenses ll ON ll.customer_id IS NULL AND ll.email = lc.email AND lc.email_proven_at IS NOT NULL`
}

// WhereLinked restricts q, which selects from licenses under alias, to c's
// licenses: "a customer's licenses". The values are bound, not joined, so
// PostgreSQL combines the two partial indexes.
func WhereLinked(q *bun.SelectQuery, alias string, c *Customer) *bun.SelectQuery {
	a := bun.Ident(alias)
	if !c.EmailProven() {
		return q.Where("?.customer_id = ?", a, c.ClientID)
	}
	return q.Where("(?.customer_id = ? OR (?.customer_id IS NULL AND ?.email = ?))", a, c.ClientID, a, a, c.Email)
}

// LinkedCondition is LinkedTo's rule as a condition on customers AS c
// with its one argument: the customer whose client id is customerID, else
// the one whose proven email is email (both unique); ok is false when
// neither is given. Writes that only need the customer's id use it in one
// statement (audit.RecordCustomerWhere).
func LinkedCondition(customerID, email *string) (cond, arg string, ok bool) {
	switch {
	case customerID != nil && *customerID != "":
		return "c.client_id = ?", *customerID, true
	case email != nil && *email != "":
		return "c.email = ? AND c.email_proven_at IS NOT NULL", *email, true
	}
	return "", "", false
}

// LinkedTo returns the customer a license with these customer_id and email
// values belongs to, or nil when it belongs to none.
func LinkedTo(ctx context.Context, idb bun.IDB, customerID, email *string) (*Customer, error) {
	// Most licenses name no customer: no query is built for them (every
	// activate asks).
	cond, arg, ok := LinkedCondition(customerID, email)
	if !ok {
		return nil, nil
	}
	q := idb.NewSelect().Model((*Customer)(nil)).Where(cond, arg)
	c := new(Customer)
	if err := q.Model(c).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("find customer of license: %w", err)
	}
	return c, nil
}

// LicenseCounts returns how many licenses each of the customers has.
// Customers without licenses are absent from the map.
func LicenseCounts(ctx context.Context, idb bun.IDB, ids []int64) (map[int64]int, error) {
	out := make(map[int64]int, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID    int64 `bun:"id"`
		Count int   `bun:"n"`
	}
	err := idb.NewRaw(`SELECT c.id, count(*) AS n FROM customers c JOIN licenses l ON `+LinkCondition("l", "c")+`
		WHERE c.id IN (?) GROUP BY c.id`, bun.List(ids)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("count customers' licenses: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.Count
	}
	return out, nil
}

// LinkRef is what decides a license's customer: its customer_id and email.
type LinkRef struct {
	CustomerID, Email *string
}

// LinkedToEach returns the customer each of refs belongs to (index → customer),
// for a page of licenses: LinkedTo for many licenses in one query. Refs
// belonging to no customer are absent.
func LinkedToEach(ctx context.Context, idb bun.IDB, refs []LinkRef) (map[int]*Customer, error) {
	out := map[int]*Customer{}
	var ids, emails []string
	for _, r := range refs {
		switch {
		case r.CustomerID != nil && *r.CustomerID != "":
			ids = append(ids, *r.CustomerID)
		case r.Email != nil && *r.Email != "":
			emails = append(emails, *r.Email)
		}
	}
	if len(ids) == 0 && len(emails) == 0 {
		return out, nil
	}
	var found []Customer
	q := idb.NewSelect().Model(&found)
	if len(ids) == 0 {
		ids = []string{""}
	}
	if len(emails) == 0 {
		emails = []string{""}
	}
	q = q.Where("c.client_id IN (?) OR (c.email IN (?) AND c.email_proven_at IS NOT NULL)", bun.List(ids), bun.List(emails))
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("find customers of licenses: %w", err)
	}
	// Both columns are citext: the match above ignored case, so this one
	// must too.
	byID, byEmail := map[string]*Customer{}, map[string]*Customer{}
	for i := range found {
		c := &found[i]
		byID[strings.ToLower(c.ClientID)] = c
		if c.EmailProven() {
			byEmail[strings.ToLower(c.Email)] = c
		}
	}
	for i, r := range refs {
		switch {
		case r.CustomerID != nil && *r.CustomerID != "":
			if c := byID[strings.ToLower(*r.CustomerID)]; c != nil {
				out[i] = c
			}
		case r.Email != nil && *r.Email != "":
			if c := byEmail[strings.ToLower(*r.Email)]; c != nil {
				out[i] = c
			}
		}
	}
	return out, nil
}
