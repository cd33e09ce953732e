package customers

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/passwords"
	"github.com/licensor/licensor/app/settings"
)

var api = audit.Source{Actor: audit.Actor{Type: audit.ActorAPIKey, Name: "shop"}, IP: "203.0.113.1"}

func newService() *Service {
	now := time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC)
	return NewService(func() time.Time { return now }, Hooks{})
}

func TestCreateDefaults(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	hooked := map[string]bool{}
	s := NewService(nil, Hooks{Created: func(ctx context.Context, tx bun.IDB, c *Customer, hasPassword bool) error {
		hooked[c.Email] = hasPassword
		return nil
	}})
	c, err := s.Create(ctx, d.Bun, api, settings.Defaults(), CreateParams{Name: " Ann Lee ", Email: "Ann@Example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == 0 || c.Name != "Ann Lee" || c.Email != "Ann@Example.com" || !c.Confirmed() || c.HasPassword() {
		t.Fatalf("%+v", c)
	}
	if len(c.ClientID) != 36 || strings.Count(c.ClientID, "-") != 4 {
		t.Fatalf("client id should be a UUID: %q", c.ClientID)
	}
	if has, called := hooked["Ann@Example.com"]; !called || has {
		t.Fatal("created hook not called, or told of a password that was not given")
	}
	var msg string
	if err := d.Bun.NewRaw("SELECT message FROM activity_log").Scan(ctx, &msg); err != nil || msg != "Customer Ann@Example.com created via API." {
		t.Fatalf("%q %v", msg, err)
	}

	no := false
	c, err = s.Create(ctx, d.Bun, api, settings.Defaults(), CreateParams{Name: "Bob", Email: "bob@example.com", ClientID: "CUST-002", Password: "correct horse", Confirmed: &no})
	if err != nil {
		t.Fatal(err)
	}
	if c.Confirmed() || c.ClientID != "CUST-002" || !c.HasPassword() {
		t.Fatalf("%+v", c)
	}
	if !hooked["bob@example.com"] {
		t.Fatal("created hook not told of the password")
	}
	if ok, err := passwords.Verify(*c.PasswordHash, "correct horse"); !ok || err != nil {
		t.Fatal("password not hashed with passwords.Hash")
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := newService()
	set := settings.Defaults()
	if _, err := s.Create(ctx, d.Bun, api, set, CreateParams{Name: "Ann", Email: "ann@example.com", ClientID: "CUST-001"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		p           CreateParams
		field, want string
	}{
		{CreateParams{Email: "x@example.com"}, "name", "The name field is required."},
		{CreateParams{Name: "A", Email: "x@example.com"}, "name", "The name field must be at least 2 characters."},
		{CreateParams{Name: strings.Repeat("a", 121), Email: "x@example.com"}, "name", "The name field must not be greater than 120 characters."},
		{CreateParams{Name: "Xe"}, "email", "The email field is required."},
		{CreateParams{Name: "Xe", Email: "not-an-email"}, "email", "The email field must be a valid email address."},
		{CreateParams{Name: "Xe", Email: strings.Repeat("a", 250) + "@x.io"}, "email", "The email field must not be greater than 254 characters."},
		{CreateParams{Name: "Xe", Email: "ANN@example.COM"}, "email", "The email has already been taken."},
		{CreateParams{Name: "Xe", Email: "x@example.com", ClientID: "abc"}, "client_id", "The client id field must be at least 6 characters."},
		{CreateParams{Name: "Xe", Email: "x@example.com", ClientID: strings.Repeat("c", 61)}, "client_id", "The client id field must not be greater than 60 characters."},
		{CreateParams{Name: "Xe", Email: "x@example.com", ClientID: "CUST 003"}, "client_id", "The client id field format is invalid."},
		{CreateParams{Name: "Xe", Email: "x@example.com", ClientID: "cust-001"}, "client_id", "The client id has already been taken."},
		{CreateParams{Name: "Xe", Email: "x@example.com", Password: "short"}, "password", "The password field must be at least 10 characters."},
	}
	for _, c := range cases {
		_, err := s.Create(ctx, d.Bun, api, set, c.p)
		verr, ok := fields.As(err)
		if !ok || verr.Map()[c.field] != c.want {
			t.Errorf("%+v: got %v, want %s: %q", c.p, err, c.field, c.want)
		}
	}
	n, _ := d.Bun.NewSelect().Model((*Customer)(nil)).Count(ctx)
	if n != 1 {
		t.Fatalf("%d customers, want 1", n)
	}
}

func TestUpdateAndDelete(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := newService()
	set := settings.Defaults()
	ann, _ := s.Create(ctx, d.Bun, api, set, CreateParams{Name: "Ann", Email: "ann@example.com", ClientID: "CUST-001"})
	bob, _ := s.Create(ctx, d.Bun, api, set, CreateParams{Name: "Bob", Email: "bob@example.com", ClientID: "CUST-002"})

	_, err := s.Update(ctx, d.Bun, api, set, ann.ID, UpdateParams{Email: fields.Some("BOB@example.com")})
	if verr, ok := fields.As(err); !ok || verr.Map()["email"] != "The email has already been taken." {
		t.Fatal(err)
	}
	_, err = s.Update(ctx, d.Bun, api, set, ann.ID, UpdateParams{ClientID: fields.Some("")})
	if verr, ok := fields.As(err); !ok || verr.Map()["client_id"] != "The client id field is required." {
		t.Fatal(err)
	}
	got, err := s.Update(ctx, d.Bun, api, set, ann.ID, UpdateParams{
		Email: fields.Some("ANN@example.com"), Name: fields.Some("Ann Lee"),
		Confirmed: fields.Some(false), Password: fields.Some("a long enough password"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Ann Lee" || got.Email != "ANN@example.com" || got.Confirmed() || got.ClientID != "CUST-001" || !got.HasPassword() {
		t.Fatalf("%+v", got)
	}
	if _, err := s.Update(ctx, d.Bun, api, set, 999, UpdateParams{}); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}

	productID := insertProduct(t, d.Bun)
	insertLicense(t, d.Bun, productID, "KEEP-1", ptr("cust-002"), nil)
	if err := s.Delete(ctx, d.Bun, api, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := Get(ctx, d.Bun, bob.ID); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, d.Bun, api, bob.ID); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	n, _ := d.Bun.NewSelect().Table("licenses").Where("license_code = 'KEEP-1'").Count(ctx)
	if n != 1 {
		t.Fatal("deleting a customer must keep their licenses")
	}
}

func TestLookups(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := newService()
	ann, _ := s.Create(ctx, d.Bun, api, settings.Defaults(), CreateParams{Name: "Ann", Email: "ann@example.com", ClientID: "CUST-001"})
	for name, get := range map[string]func() (*Customer, error){
		"client id":      func() (*Customer, error) { return ByClientID(ctx, d.Bun, "cust-001") },
		"email":          func() (*Customer, error) { return ByEmail(ctx, d.Bun, "ANN@EXAMPLE.COM") },
		"login by email": func() (*Customer, error) { return ByLogin(ctx, d.Bun, "Ann@example.com") },
		"login by id":    func() (*Customer, error) { return ByLogin(ctx, d.Bun, "Cust-001") },
		"find by ref":    func() (*Customer, error) { return Find(ctx, d.Bun, "CUST-001") },
		"find by id":     func() (*Customer, error) { return Find(ctx, d.Bun, itoa(ann.ID)) },
	} {
		c, err := get()
		if err != nil || c.ID != ann.ID {
			t.Errorf("%s: %v %v", name, c, err)
		}
	}
	if _, err := Find(ctx, d.Bun, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	s := newService()
	no := false
	for i, name := range []string{"Ann", "Bob", "Cyd", "Dee"} {
		p := CreateParams{Name: name, Email: strings.ToLower(name) + "@example.com", ClientID: "CUST-00" + itoa(int64(i))}
		if name == "Dee" {
			// Registered herself and never followed her link.
			p.Confirmed, p.SelfRegistered = &no, true
		}
		if _, err := s.Create(ctx, d.Bun, api, settings.Defaults(), p); err != nil {
			t.Fatal(err)
		}
	}
	productID := insertProduct(t, d.Bun)
	insertLicense(t, d.Bun, productID, "L1", ptr("cust-000"), nil)
	// By email: Bob's counts; Dee's does not (her email is unproven).
	insertLicense(t, d.Bun, productID, "L2", nil, ptr("BOB@example.com"))
	insertLicense(t, d.Bun, productID, "L3", nil, ptr("dee@example.com"))

	yes := true
	cases := []struct {
		name string
		f    Filter
		sort string
		want []string
	}{
		{"all newest first", Filter{}, "", []string{"Dee", "Cyd", "Bob", "Ann"}},
		{"by name", Filter{}, "name", []string{"Ann", "Bob", "Cyd", "Dee"}},
		{"search email", Filter{Search: "BOB@"}, "", []string{"Bob"}},
		{"search client id", Filter{Search: "cust-002"}, "", []string{"Cyd"}},
		{"unconfirmed", Filter{Confirmed: &no}, "", []string{"Dee"}},
		{"has licenses", Filter{HasLicenses: &yes}, "name", []string{"Ann", "Bob"}},
		{"no licenses", Filter{HasLicenses: &no}, "name", []string{"Cyd", "Dee"}},
	}
	for _, c := range cases {
		got, total, err := List(ctx, d.Bun, c.f, c.sort, listing.Page{})
		if err != nil || total != len(c.want) || !slices.Equal(names(got), c.want) {
			t.Errorf("%s: %v (total %d, err %v), want %v", c.name, names(got), total, err, c.want)
		}
	}
	page, total, err := List(ctx, d.Bun, Filter{}, "name", listing.Page{Number: 2, PerPage: 3})
	if err != nil || total != 4 || !slices.Equal(names(page), []string{"Dee"}) {
		t.Fatalf("page 2: %v %d %v", names(page), total, err)
	}
}

func names(cs []Customer) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}
