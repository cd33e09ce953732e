package outbound_test

import (
	"context"
	"testing"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/outbound"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/views"
)

func TestCustomerCreatedHooks(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	store, err := settings.NewStore(d.Bun, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := outbound.New(outbound.Options{SQL: d.SQL, Settings: store, Views: views.FS, BaseURL: "https://licenses.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	src := audit.Source{Actor: audit.System}
	if _, err := settings.Set(ctx, d.Bun, src, map[string]string{"enable_webhooks": "true", "webhook_url": "https://hooks.example.com/in"}); err != nil {
		t.Fatal(err)
	}
	store.Invalidate()
	svc := customers.NewService(nil, o.CustomerHooks())
	if _, err := svc.Create(ctx, d.Bun, src, settings.Defaults(), customers.CreateParams{Name: "Ann Lee", Email: "ann@example.com"}); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		var c int
		if err := d.Bun.NewRaw(q).Scan(ctx, &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if count("SELECT count(*) FROM mail_messages WHERE subject = 'Welcome to Licensor'") != 1 ||
		count("SELECT count(*) FROM webhook_deliveries WHERE event = 'customer.created'") != 1 ||
		count("SELECT count(*) FROM customer_tokens WHERE purpose = 'password_set'") != 1 {
		t.Fatal("welcome email, customer.created or set-password token missing")
	}

	if _, err := settings.Set(ctx, d.Bun, src, map[string]string{"send_welcome_email": "false"}); err != nil {
		t.Fatal(err)
	}
	store.Invalidate()
	if _, err := svc.Create(ctx, d.Bun, src, settings.Defaults(), customers.CreateParams{Name: "Bob Stone", Email: "bob@example.com", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	if count("SELECT count(*) FROM mail_messages") != 1 || count("SELECT count(*) FROM webhook_deliveries") != 2 {
		t.Fatal("send_welcome_email off still sent, or the webhook depended on it")
	}
}
