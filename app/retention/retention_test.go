package retention_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/retention"
	"github.com/licensor/licensor/app/settings"
)

func TestRetention(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 3, 0, 0, 0, time.UTC)
	if _, err := settings.Set(ctx, d.Bun, audit.Source{Actor: audit.System}, map[string]string{
		"activity_log_retention_days": "10", "login_history_retention_days": "10", "failed_attempt_retention_days": "10",
		"webhook_delivery_retention_days": "10", "mail_outbox_retention_days": "10", "finished_jobs_retention_days": "10",
		"download_log_retention_days": "10",
	}); err != nil {
		t.Fatal(err)
	}
	old, fresh := now.Add(-11*24*time.Hour), now.Add(-9*24*time.Hour)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := d.Bun.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("DELETE FROM activity_log") // the settings change above
	exec(`INSERT INTO products (name, reference_id) VALUES ('Acme', 'ACME')`)
	exec(`INSERT INTO licenses (product_id, license_code, expires_at) VALUES (1, 'L1', ?)`, now)
	for _, at := range []time.Time{old, fresh} {
		exec(`INSERT INTO activity_log (type, actor_type, message, created_at) VALUES ('x', 'system', 'm', ?)`, at)
		exec(`INSERT INTO admin_logins (email, success, created_at) VALUES ('a@example.com', true, ?)`, at)
		exec(`INSERT INTO customer_logins (login, success, created_at) VALUES ('c@example.com', false, ?)`, at)
		exec(`INSERT INTO activations (product_id, license_code, is_valid, is_active, created_at) VALUES (1, 'L1', false, false, ?)`, at)
		exec(`INSERT INTO activations (product_id, license_id, license_code, created_at) VALUES (1, 1, 'L1', ?)`, at) // kept: successful
		exec(`INSERT INTO webhook_deliveries (id, event, url, body, status, created_at) VALUES (gen_random_uuid(), 'e', 'https://x', '{}', 'succeeded', ?)`, at)
		exec(`INSERT INTO mail_messages (kind, from_address, to_address, subject, html_body, text_body, status, created_at)
			VALUES ('welcome', 'f@example.com', 't@example.com', 's', 'h', 't', 'sent', ?)`, at)
		exec(`INSERT INTO river_job (args, kind, state, finalized_at) VALUES ('{}', 'send_mail', 'completed', ?)`, at)
		exec(`INSERT INTO river_job (args, kind, state, finalized_at) VALUES ('{}', 'send_mail', 'discarded', ?)`, at)
		exec(`INSERT INTO download_logs (download_id, source, product_id, type, is_valid, downloaded_at) VALUES (md5(random()::text), 'api', 1, 'main', true, ?)`, at)
	}
	// Never deleted by age: pending deliveries, queued mail, unfinished jobs.
	exec(`INSERT INTO webhook_deliveries (id, event, url, body, status, created_at) VALUES (gen_random_uuid(), 'e', 'https://x', '{}', 'pending', ?)`, old)
	exec(`INSERT INTO mail_messages (kind, from_address, to_address, subject, html_body, text_body, status, created_at)
		VALUES ('welcome', 'f@example.com', 't@example.com', 's', 'h', 't', 'queued', ?)`, old)
	exec(`INSERT INTO river_job (args, kind, state, created_at) VALUES ('{}', 'send_mail', 'retryable', ?)`, old)
	// Expiry notices are kept 30 days past their date.
	exec(`INSERT INTO expiry_notices (license_id, kind, due_at) VALUES (1, 'expired', ?), (1, 'expired', ?)`, now.Add(-31*24*time.Hour), now.Add(-29*24*time.Hour))

	deleted, err := retention.Run(ctx, d.Bun, now)
	if err != nil {
		t.Fatal(err)
	}
	want := "[{activity_log 1} {admin_logins 1} {customer_logins 1} {failed_activations 1} {webhook_deliveries 1} {mail_messages 1} {finished_jobs 2} {download_logs 1} {expiry_notices 1}]"
	if fmt.Sprint(deleted) != want {
		t.Fatalf("deleted %v\nwant    %s", deleted, want)
	}
	for table, n := range map[string]int{
		"activity_log": 1, "admin_logins": 1, "customer_logins": 1, "activations": 3, "webhook_deliveries": 2,
		"mail_messages": 2, "river_job": 3, "expiry_notices": 1, "download_logs": 1,
	} {
		var got int
		if err := d.Bun.NewRaw("SELECT count(*) FROM "+table).Scan(ctx, &got); err != nil || got != n {
			t.Errorf("%s: %d rows left, want %d (%v)", table, got, n, err)
		}
	}
}
