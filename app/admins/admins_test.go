package admins_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/fields"
)

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	tests := []struct {
		name, email, password string
		fields                []string
	}{
		{"", "a@example.com", "long enough pw", []string{"name"}},
		{"Ann", "not-an-email", "long enough pw", []string{"email"}},
		{"Ann", "Ann <a@example.com>", "long enough pw", []string{"email"}},
		{"Ann", "a@example.com", "short", []string{"password"}},
		{"  ", "", "", []string{"name", "email", "password"}},
	}
	for _, tt := range tests {
		_, err := admins.Create(ctx, d.Bun, tt.name, tt.email, tt.password)
		ve, ok := fields.As(err)
		if !ok {
			t.Errorf("Create(%q, %q): err = %v, want ValidationError", tt.name, tt.email, err)
			continue
		}
		if ve.Len() != len(tt.fields) {
			t.Errorf("Create(%q, %q): fields = %v, want %v", tt.name, tt.email, ve.Map(), tt.fields)
		}
		for _, f := range tt.fields {
			if !ve.Has(f) {
				t.Errorf("Create(%q, %q): no message for %s in %v", tt.name, tt.email, f, ve.Map())
			}
		}
	}
}

func TestCreateAuthenticate(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()

	a, err := admins.Create(ctx, d.Bun, "Ann Admin", "Ann@Example.com", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || !a.IsOwner() || strings.Contains(a.PasswordHash, "a long password") {
		t.Fatalf("unexpected admin: %+v", a)
	}
	if _, err := admins.Create(ctx, d.Bun, "Other", "ann@EXAMPLE.com", "a long password"); !errors.Is(err, admins.ErrEmailTaken) {
		t.Fatalf("duplicate email in other case: err = %v, want ErrEmailTaken", err)
	}

	got, err := admins.Authenticate(ctx, d.Bun, " ann@example.COM ", "a long password")
	if err != nil || got.ID != a.ID {
		t.Fatalf("Authenticate(right) = %v, %v", got, err)
	}
	if _, err := admins.Authenticate(ctx, d.Bun, "ann@example.com", "wrong password"); !errors.Is(err, admins.ErrInvalidCredentials) {
		t.Errorf("wrong password: err = %v", err)
	}
	if _, err := admins.Authenticate(ctx, d.Bun, "nobody@example.com", "a long password"); !errors.Is(err, admins.ErrInvalidCredentials) {
		t.Errorf("unknown email: err = %v", err)
	}
	if _, err := admins.Authenticate(ctx, d.Bun, "", ""); !errors.Is(err, admins.ErrInvalidCredentials) {
		t.Errorf("empty email: err = %v", err)
	}

	if n, err := admins.Count(ctx, d.Bun); err != nil || n != 1 {
		t.Errorf("Count = %d, %v", n, err)
	}
	if _, err := admins.Get(ctx, d.Bun, a.ID+100); !errors.Is(err, admins.ErrNotFound) {
		t.Errorf("Get(missing) err = %v", err)
	}
}

func TestRecordLogin(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	a, err := admins.Create(ctx, d.Bun, "Ann", "ann@example.com", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	if err := admins.RecordLogin(ctx, d.Bun, admins.Login{Email: "x@example.com", IP: "10.0.0.1", Reason: admins.ReasonInvalidCredentials}); err != nil {
		t.Fatal(err)
	}
	if err := admins.RecordLogin(ctx, d.Bun, admins.Login{AdminID: &a.ID, Email: a.Email, IP: "10.0.0.1", UserAgent: strings.Repeat("x", 2000), Success: true}); err != nil {
		t.Fatal(err)
	}
	got, err := admins.Get(ctx, d.Bun, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastLoginAt == nil {
		t.Error("last_login_at not set after a successful login")
	}
	var n, ok int
	if err := d.Bun.QueryRowContext(ctx, "SELECT count(*), count(*) FILTER (WHERE success) FROM admin_logins").Scan(&n, &ok); err != nil {
		t.Fatal(err)
	}
	if n != 2 || ok != 1 {
		t.Errorf("admin_logins: %d rows, %d successful; want 2, 1", n, ok)
	}
}

func TestEnsureFirstConcurrent(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()

	const nodes = 4
	var wg sync.WaitGroup
	results := make([]bool, nodes)
	passwords := make([]string, nodes)
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Go(func() {
			passwords[i], results[i], errs[i] = admins.EnsureFirst(ctx, d.Bun, "root@example.com")
		})
	}
	wg.Wait()
	created := 0
	var pw string
	for i := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		if results[i] {
			created++
			pw = passwords[i]
		} else if passwords[i] != "" {
			t.Errorf("node %d returned a password without creating", i)
		}
	}
	if created != 1 {
		t.Fatalf("%d nodes created the first admin, want 1", created)
	}
	if len(pw) != 20 {
		t.Errorf("password length %d, want 20", len(pw))
	}
	a, err := admins.Authenticate(ctx, d.Bun, "root@example.com", pw)
	if err != nil {
		t.Fatalf("sign in with the generated password: %v", err)
	}
	if a.Name != "Administrator" {
		t.Errorf("name = %q", a.Name)
	}
	if _, created, err := admins.EnsureFirst(ctx, d.Bun, "other@example.com"); err != nil || created {
		t.Errorf("second call: created=%v err=%v", created, err)
	}
}
