package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/settings"
)

// Errors of delivery and of the console's actions.
var (
	ErrNotFound = errkind.New(errkind.NotFound, "webhook delivery not found")
	// ErrGone: the delivery was deleted (retention) before it was sent.
	ErrGone = errors.New("webhook delivery no longer exists")
	// ErrBusy: another worker holds the delivery; try again later.
	ErrBusy = errors.New("webhook delivery is being sent by another worker")
	// ErrNoURL: no webhook_url is set.
	ErrNoURL = errors.New("no webhook URL is set")
)

// Delivery is one event sent (or to send) to the endpoint.
type Delivery struct {
	bun.BaseModel `bun:"table:webhook_deliveries,alias:wd"`

	ID             string     `bun:"id,pk"`
	Event          string     `bun:"event"`
	URL            string     `bun:"url"`
	Body           string     `bun:"body"`
	LicenseID      *int64     `bun:"license_id"`
	LicenseCode    *string    `bun:"license_code"`
	ProductName    *string    `bun:"product_name"`
	Status         string     `bun:"status"`
	Round          int        `bun:"round"`
	Attempts       int        `bun:"attempts"`
	LastStatusCode *int       `bun:"last_status_code"`
	LastDurationMS *int       `bun:"last_duration_ms"`
	LastError      *string    `bun:"last_error"`
	CompletedAt    *time.Time `bun:"completed_at"`
	CreatedAt      time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt      time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// Attempt is one request of a delivery and what came back.
type Attempt struct {
	bun.BaseModel `bun:"table:webhook_delivery_attempts,alias:wa"`

	ID              int64             `bun:"id,pk,autoincrement"`
	DeliveryID      string            `bun:"delivery_id"`
	Attempt         int               `bun:"attempt"`
	URL             string            `bun:"url"`
	RequestHeaders  map[string]string `bun:"request_headers,type:jsonb"`
	StatusCode      *int              `bun:"status_code"`
	DurationMS      int               `bun:"duration_ms"`
	ResponseHeaders map[string]string `bun:"response_headers,type:jsonb"`
	ResponseBody    *string           `bun:"response_body"`
	Error           *string           `bun:"error"`
	CreatedAt       time.Time         `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

// Succeeded reports whether the attempt got a 2xx answer.
func (a *Attempt) Succeeded() bool {
	return a.StatusCode != nil && *a.StatusCode >= 200 && *a.StatusCode < 300
}

// Sign is the X-Webhook-Signature of body under secret: lowercase hex
// HMAC-SHA256 of the exact bytes, no prefix (docs/api/webhooks.md).
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Timeout bounds each request (docs/api/webhooks.md).
const Timeout = 10 * time.Second

// Backoff is the wait of docs/api/webhooks.md#delivery after the n-th failed attempt (n from 1):
// 1 min, 5 min, 15 min, 1 h, 2 h, 6 h, 14 h; eight attempts in about a day.
func Backoff(n int) time.Duration {
	steps := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 14 * time.Hour}
	if n < 1 {
		n = 1
	}
	return steps[min(n, len(steps))-1]
}

// Deliverer sends deliveries; the deliver_webhook job calls Deliver.
type Deliverer struct {
	db       bun.IDB
	client   *http.Client
	settings *settings.Store
	now      func() time.Time
}

// NewDeliverer returns a Deliverer over db. client nil means a client with
// Timeout that follows no redirect (a 3xx is not a 2xx) and connects to
// no internal address outside webhook_allowed_networks (destination.go). store gives the
// current webhook_secret: a rotated secret signs the next attempt.
func NewDeliverer(db bun.IDB, client *http.Client, store *settings.Store, now func() time.Time) *Deliverer {
	if client == nil {
		client = guardedClient()
	}
	if now == nil {
		now = time.Now
	}
	return &Deliverer{db: db, client: client, settings: store, now: now}
}

// Deliver posts delivery id once, unless it already succeeded or belongs
// to a later round (it was re-sent). The delivery's row stays locked while
// the request runs, and the attempt, the new state and, on the last
// attempt, the activity-log entry are written in the same transaction.
// final says this is the job's last attempt: a failure then fails the
// delivery for good. A failed attempt returns an error so the job retries.
func (d *Deliverer) Deliver(ctx context.Context, id string, round int, final bool) error {
	set, err := d.settings.Get(ctx)
	if err != nil {
		return err
	}
	var outcome error
	err = d.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		del := new(Delivery)
		err := tx.NewSelect().Model(del).Where("wd.id = ?", id).For("UPDATE SKIP LOCKED").Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			exists, err := tx.NewSelect().Model((*Delivery)(nil)).Where("id = ?", id).Exists(ctx)
			if err != nil {
				return err
			}
			outcome = ErrGone
			if exists {
				outcome = ErrBusy
			}
			return nil
		}
		if err != nil {
			return err
		}
		if del.Status == StatusSucceeded || del.Round != round {
			return nil
		}
		a := d.post(withAllowed(ctx, set.WebhookAllowedNetworks), del, set.WebhookSecret)
		a.Attempt = del.Attempts + 1
		if _, err := tx.NewInsert().Model(a).Exec(ctx); err != nil {
			return fmt.Errorf("record webhook attempt: %w", err)
		}
		now := d.now()
		q := tx.NewUpdate().Model(del).WherePK().
			Set("attempts = ?", a.Attempt).
			Set("last_status_code = ?", a.StatusCode).
			Set("last_duration_ms = ?", a.DurationMS).
			Set("last_error = ?", a.Error).
			Set("updated_at = ?", now)
		var outcomeWord string
		switch {
		case a.Succeeded():
			q = q.Set("status = ?", StatusSucceeded).Set("completed_at = ?", now)
			outcomeWord = "succeeded"
		default:
			outcome = attemptError(a)
			if final {
				q = q.Set("status = ?", StatusFailed).Set("completed_at = ?", now)
				outcomeWord = "failed"
			}
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("update webhook delivery: %w", err)
		}
		if outcomeWord != "" {
			return logOutcome(ctx, tx, del, outcomeWord)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("deliver webhook %s: %w", id, err)
	}
	return outcome
}

// post sends the delivery's body and records what happened.
func (d *Deliverer) post(ctx context.Context, del *Delivery, secret string) *Attempt {
	a := &Attempt{DeliveryID: del.ID, URL: del.URL, CreatedAt: d.now()}
	headers := map[string]string{
		"Content-Type": "application/json",
		"User-Agent":   "Licensor-Webhooks/1",
		HeaderEvent:    del.Event,
		HeaderID:       del.ID,
	}
	body := []byte(del.Body)
	if secret != "" {
		headers[HeaderSignature] = Sign(secret, body)
	}
	a.RequestHeaders = headers

	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, del.URL, bytes.NewReader(body))
	if err != nil {
		a.Error = ptr(err.Error())
		return a
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		a.DurationMS = int(time.Since(start).Milliseconds())
		a.Error = ptr(attemptFailure(err))
		return a
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseExcerpt))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	a.DurationMS = int(time.Since(start).Milliseconds())
	a.StatusCode = &resp.StatusCode
	a.ResponseBody = ptr(strings.ToValidUTF8(string(excerpt), string(utf8.RuneError)))
	a.ResponseHeaders = map[string]string{}
	for k := range resp.Header {
		a.ResponseHeaders[k] = resp.Header.Get(k)
	}
	return a
}

// maxResponseExcerpt bounds the response body kept per attempt.
const maxResponseExcerpt = 4096

func attemptError(a *Attempt) error {
	if a.StatusCode != nil {
		return fmt.Errorf("webhook answered %d", *a.StatusCode)
	}
	return fmt.Errorf("webhook request failed: %s", *a.Error)
}

// logOutcome writes the final result to the activity log (docs/api/webhooks.md).
func logOutcome(ctx context.Context, idb bun.IDB, del *Delivery, outcome string) error {
	msg := fmt.Sprintf("Webhook %s %s.", del.Event, outcome)
	e := audit.Entry{Type: "webhook." + outcome, Actor: audit.System, Data: map[string]any{"delivery_id": del.ID, "event": del.Event}}
	if del.LicenseCode != nil {
		msg = fmt.Sprintf("Webhook %s %s for license %s (%s).", del.Event, outcome, *del.LicenseCode, deref(del.ProductName))
	}
	if del.LicenseID != nil {
		e.Subject = &audit.Subject{Type: audit.SubjectLicense, ID: *del.LicenseID}
	}
	e.Message = msg
	return audit.Record(ctx, idb, e)
}

// Resend sends delivery id again, as it was (same X-Webhook-Id and body),
// to the current webhook_url: a new round whose job supersedes any job of
// an earlier round still waiting to retry. The admin's action is logged.
func (e *Emitter) Resend(ctx context.Context, idb bun.IDB, by audit.Source, set *settings.Values, id string) error {
	if set.WebhookURL == "" {
		return ErrNoURL
	}
	if uuid.Validate(id) != nil {
		return ErrNotFound
	}
	del := new(Delivery)
	err := idb.NewUpdate().Model(del).
		Set("round = round + 1").
		Set("status = ?", StatusPending).
		Set("url = ?", set.WebhookURL).
		Set("completed_at = NULL").
		Set("updated_at = ?", e.now()).
		Where("id = ?", id).
		Returning("*").
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("resend webhook %s: %w", id, err)
	}
	if _, err := e.queue.Add(ctx, idb, jobargs.DeliverWebhook{DeliveryID: del.ID, Round: del.Round}, nil); err != nil {
		return err
	}
	return audit.Record(ctx, idb, audit.Entry{
		Type: "webhook.resent", Actor: by.Actor, IP: by.IP,
		Message: fmt.Sprintf("Webhook %s re-sent %s.", del.Event, by.Actor.Via()),
		Data:    map[string]any{"delivery_id": del.ID},
	})
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
