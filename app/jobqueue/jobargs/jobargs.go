// Package jobargs holds only the argument types of Licensor's River jobs, so
// domain packages can enqueue a job inside their own transaction (InsertTx)
// without importing the workers in jobs/.
package jobargs

import (
	"encoding/json"
	"time"

	"github.com/riverqueue/river"
)

// PruneExpired removes expired sessions, CSRF tokens, CAPTCHA answers and
// old rate-limit windows.
type PruneExpired struct{}

// Kind is River's name for the job.
func (PruneExpired) Kind() string { return "prune_expired" }

// PasswordReset emails a password reset link to the customer whose
// address is Email, when there is one. The portal's forgot-password form
// and a registration with a known address enqueue it whether or not the
// address has an account, so both answers cost the same
// (docs/deploy.md#registration-and-forgotten-passwords).
type PasswordReset struct {
	Email string `json:"email"`
}

// Kind is River's name for the job.
func (PasswordReset) Kind() string { return "password_reset" }

// SendMail delivers one message of the mail outbox (mail_messages.id).
type SendMail struct {
	MessageID int64 `json:"message_id"`
}

// Kind is River's name for the job.
func (SendMail) Kind() string { return "send_mail" }

// DeliverWebhook posts one webhook delivery (webhook_deliveries.id). Round
// is the delivery's re-send count when the job was enqueued: a job of an
// earlier round stands down.
type DeliverWebhook struct {
	DeliveryID string `json:"delivery_id"`
	Round      int    `json:"round"`
}

// Kind is River's name for the job.
func (DeliverWebhook) Kind() string { return "deliver_webhook" }

// WebhookMaxAttempts is the "at most 8 attempts in about a day" of
// docs/api/webhooks.md#delivery.
const WebhookMaxAttempts = 8

// InsertOpts bounds the attempts; the worker spaces them (docs/api/webhooks.md).
func (DeliverWebhook) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: WebhookMaxAttempts}
}

// ExpiryScan runs the expiry scan. Day is the date (in the timezone
// setting) of the scheduled scan it stands for: unique by arguments, each
// day's scan is enqueued once however often the scheduler asks.
type ExpiryScan struct {
	Day string `json:"day"`
}

// Kind is River's name for the job.
func (ExpiryScan) Kind() string { return "expiry_scan" }

// InsertOpts makes one job per Day.
func (ExpiryScan) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// BlacklistScan runs the auto-blacklist (hourly).
type BlacklistScan struct{}

// Kind is River's name for the job.
func (BlacklistScan) Kind() string { return "blacklist_scan" }

// InsertOpts keeps one scan per hour, whichever node's scheduler asks.
func (BlacklistScan) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
}

// Retention deletes log rows, outbox messages and finished jobs older than
// their retention settings (daily).
type Retention struct{}

// Kind is River's name for the job.
func (Retention) Kind() string { return "retention" }

// InsertOpts keeps one clean-up per day.
func (Retention) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: 24 * time.Hour}}
}

// Import runs an import of customers or licenses (imports.id): its batches,
// progress and report live on that row.
type Import struct {
	ImportID int64 `json:"import_id"`
}

// Kind is River's name for the job.
func (Import) Kind() string { return "import" }

// InsertOpts: an import resumes after its last committed batch, so a retry
// (a node stopped mid-way) finishes it; a failing batch ends it without
// retry (the worker records the failure and returns nil).
func (Import) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5}
}

// ProcessOrder applies one order event of an order sync plugin
// (app/orders.Event as JSON; processed once per plugin, order and status).
type ProcessOrder struct {
	Plugin string          `json:"plugin"`
	Event  json.RawMessage `json:"event"`
}

// Kind is River's name for the job.
func (ProcessOrder) Kind() string { return "process_order" }

// PollOrders asks every enabled order sync plugin for the orders changed
// since its stored cursor.
type PollOrders struct{}

// Kind is River's name for the job.
func (PollOrders) Kind() string { return "poll_orders" }

// ReleaseActivations releases (or marks) the activations that missed their
// heartbeat (docs/licensing.md#heartbeats-and-automatic-release); a
// periodic job.
type ReleaseActivations struct{}

// Kind is River's name for the job.
func (ReleaseActivations) Kind() string { return "release_activations" }

// InsertOpts keeps one run per ten seconds, whichever node's scheduler
// asks: a run releases everything overdue.
func (ReleaseActivations) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: 10 * time.Second}}
}
