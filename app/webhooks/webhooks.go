// Package webhooks owns the webhook endpoint of docs/api/webhooks.md: the events and
// their envelope, the deliveries table (one row per event, its exact body
// and every attempt), the HMAC-SHA256 signature, and the delivery a River
// job (deliver_webhook) performs with a 10 s timeout and the spaced retries
// of docs/api/webhooks.md.
//
// Events are emitted inside the transaction of the change they announce
// (Emitter.Emit, and the licensing and customers hooks built by Hooks), so
// an API request only inserts a row and a job: a slow or failing receiver
// never delays it.
package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/settings"
)

// The events of docs/api/webhooks.md, and the console's test event.
const (
	EventLicenseExpiring             = "license.expiring"
	EventLicenseExpired              = "license.expired"
	EventLicenseUpdateSupportExpired = "license.update_support_expired"
	EventLicenseCreated              = "license.created"
	EventLicenseUpdated              = "license.updated"
	EventLicenseBlocked              = "license.blocked"
	EventLicenseUnblocked            = "license.unblocked"
	EventLicenseRenewed              = "license.renewed"
	EventActivationCreated           = "activation.created"
	EventActivationDeactivated       = "activation.deactivated"
	EventActivationReleased          = "activation.released"
	EventCustomerCreated             = "customer.created"
	EventTest                        = "webhook.test"
)

// Request headers (docs/api/webhooks.md).
const (
	HeaderEvent     = "X-Webhook-Event"
	HeaderID        = "X-Webhook-Id"
	HeaderSignature = "X-Webhook-Signature"
)

// envelopeTimestampLayout writes "2024-01-15T10:30:00+00:00" (docs/api/webhooks.md).
const envelopeTimestampLayout = "2006-01-02T15:04:05-07:00"

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Event is one webhook to send.
type Event struct {
	Type    string
	Payload any
	// License names the license the event is about, for the activity log
	// ("… for license <code> (<product>).") and the console; nil for
	// events about no license.
	License *LicenseRef
}

// LicenseRef identifies a license in logs.
type LicenseRef struct {
	ID      int64
	Code    string
	Product string
}

// envelope is the body of every request (docs/api/webhooks.md).
type envelope struct {
	EventType string `json:"event_type"`
	Timestamp string `json:"timestamp"`
	Payload   any    `json:"payload"`
}

// Emitter turns events into deliveries and their jobs.
type Emitter struct {
	queue    *jobqueue.Queue
	settings *settings.Store
	baseURL  string
	now      func() time.Time
}

// NewEmitter returns an Emitter. store gives the hooks the current
// settings (enable_webhooks, webhook_url, webhook_events); baseURL makes
// avatar URLs absolute in customer payloads.
func NewEmitter(queue *jobqueue.Queue, store *settings.Store, baseURL string, now func() time.Time) *Emitter {
	if now == nil {
		now = time.Now
	}
	return &Emitter{queue: queue, settings: store, baseURL: baseURL, now: now}
}

// Emit stores a delivery and enqueues its job for each event that set
// enables (enable_webhooks on, a webhook_url, the event in webhook_events),
// in idb. It returns how many it emitted.
func (e *Emitter) Emit(ctx context.Context, idb bun.IDB, set *settings.Values, events ...Event) (int, error) {
	now := e.now()
	var rows []Delivery
	for _, ev := range events {
		if !set.WebhookEventEnabled(ev.Type) {
			continue
		}
		d, err := newDelivery(ev, set.WebhookURL, now)
		if err != nil {
			return 0, err
		}
		rows = append(rows, *d)
	}
	return len(rows), e.insert(ctx, idb, rows)
}

// SendTest emits the console's test event (webhook.test) to webhook_url,
// whether or not webhooks are enabled, so an admin can try the receiver
// before turning them on. It returns the delivery's id.
func (e *Emitter) SendTest(ctx context.Context, idb bun.IDB, set *settings.Values) (string, error) {
	if set.WebhookURL == "" {
		return "", ErrNoURL
	}
	d, err := newDelivery(Event{Type: EventTest, Payload: map[string]string{
		"message": fmt.Sprintf("This is a test event from %s.", set.AppName),
	}}, set.WebhookURL, e.now())
	if err != nil {
		return "", err
	}
	return d.ID, e.insert(ctx, idb, []Delivery{*d})
}

func newDelivery(ev Event, url string, now time.Time) (*Delivery, error) {
	body, err := json.Marshal(envelope{EventType: ev.Type, Timestamp: now.UTC().Format(envelopeTimestampLayout), Payload: ev.Payload})
	if err != nil {
		return nil, fmt.Errorf("encode %s webhook: %w", ev.Type, err)
	}
	d := &Delivery{ID: uuid.NewString(), Event: ev.Type, URL: url, Body: string(body), Status: StatusPending, Round: 1, CreatedAt: now, UpdatedAt: now}
	if ev.License != nil {
		d.LicenseID, d.LicenseCode, d.ProductName = &ev.License.ID, &ev.License.Code, &ev.License.Product
	}
	return d, nil
}

func (e *Emitter) insert(ctx context.Context, idb bun.IDB, rows []Delivery) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := idb.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("store %d webhook deliveries: %w", len(rows), err)
	}
	params := make([]river.InsertManyParams, len(rows))
	for i, d := range rows {
		params[i] = river.InsertManyParams{Args: jobargs.DeliverWebhook{DeliveryID: d.ID, Round: d.Round}}
	}
	return e.queue.AddMany(ctx, idb, params)
}
