// Package mail owns Licensor's email (docs/features.md#emails): the templates under
// views/emails/ (one shared layout, HTML and plain text), the outbox table
// every message is queued in, the SMTP transport, and the delivery a River
// job (send_mail) performs.
//
// A message is rendered and stored in the transaction of the change that
// causes it, and its send_mail job is enqueued in that same transaction
// (Mailer.Queue), so an email exists exactly when its cause committed. The
// job sends it while holding the message's row lock and marks it sent in
// the same transaction, so a retry after a successful send finds it sent
// and stops; the Message-ID header comes from the row, so a message sent
// again after a lost SMTP acknowledgement is recognisable as the same one.
// With no SMTP server configured, messages stay in the outbox, which the
// console shows at /admin/mail.
package mail

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Message statuses.
const (
	StatusQueued = "queued" // waiting for its job (or retrying)
	StatusSent   = "sent"   // accepted by the SMTP server
	StatusOutbox = "outbox" // no SMTP server configured: kept for the console
	StatusFailed = "failed" // refused for good, or out of attempts
)

// Email kinds: the template names under views/emails/.
const (
	KindEmailConfirmation = "email-confirmation"
	KindWelcome           = "welcome"
	KindPasswordReset     = "password-reset"
	KindExpiryWarning     = "expiry-warning"
	KindLicenseDetails    = "license-details"
	KindNewDevice         = "new-device"
	KindEmailChanged      = "email-changed"

	KindAdminInvitation        = "admin-invitation"
	KindAdminPasswordReset     = "admin-password-reset"
	KindAdminEmailConfirmation = "admin-email-confirmation"
)

// Kinds lists every kind, in the order of docs/features.md#emails.
var Kinds = []string{KindEmailConfirmation, KindWelcome, KindPasswordReset, KindExpiryWarning, KindLicenseDetails, KindNewDevice, KindEmailChanged,
	KindAdminInvitation, KindAdminPasswordReset, KindAdminEmailConfirmation}

// Errors of delivery, which the job maps to River outcomes.
var (
	// ErrGone: the message was deleted (retention) before it was sent.
	ErrGone = errors.New("mail message no longer exists")
	// ErrBusy: another worker holds the message (a rescued job whose first
	// run is still going); try again later.
	ErrBusy = errors.New("mail message is being sent by another worker")
)

// PermanentError is an SMTP refusal that retrying cannot fix (a 5xx reply
// to the recipient or the message). The message is marked failed.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "refused for good: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Message is a row of the outbox.
type Message struct {
	bun.BaseModel `bun:"table:mail_messages,alias:mm"`

	ID          int64      `bun:"id,pk,autoincrement"`
	UID         string     `bun:"uid,nullzero"`
	Kind        string     `bun:"kind"`
	FromAddress string     `bun:"from_address"`
	FromName    string     `bun:"from_name"`
	ToAddress   string     `bun:"to_address"`
	ToName      string     `bun:"to_name"`
	Subject     string     `bun:"subject"`
	HTMLBody    string     `bun:"html_body"`
	TextBody    string     `bun:"text_body"`
	Status      string     `bun:"status"`
	Attempts    int        `bun:"attempts"`
	LastError   *string    `bun:"last_error"`
	CustomerID  *int64     `bun:"customer_id"`
	LicenseID   *int64     `bun:"license_id"`
	SentAt      *time.Time `bun:"sent_at"`
	CreatedAt   time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt   time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// MessageID is the Message-ID header of m (without angle brackets): the
// row's id and uid at the sender's domain. Every send of the row carries
// it, so a receiver can tell a repeat after a lost acknowledgement.
func (m *Message) MessageID() string {
	domain := "licensor.invalid"
	if _, d, ok := strings.Cut(m.FromAddress, "@"); ok && d != "" {
		domain = d
	}
	return fmt.Sprintf("%d.%s@%s", m.ID, m.UID, domain)
}
