package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Sender delivers queued messages; the send_mail job calls Deliver.
type Sender struct {
	db        bun.IDB
	transport Transport
	now       func() time.Time
}

// NewSender returns a Sender over db. A nil transport (no mail.smtp_url)
// keeps every message in the outbox.
func NewSender(db bun.IDB, transport Transport, now func() time.Time) *Sender {
	if now == nil {
		now = time.Now
	}
	return &Sender{db: db, transport: transport, now: now}
}

// Outbox reports whether messages stay in the outbox (no SMTP server).
func (s *Sender) Outbox() bool { return s.transport == nil }

// Deliver sends message id unless it was already sent (or kept in the
// outbox, or failed for good). The message's row stays locked while it is
// sent and the result is written in the same transaction, so two runs of
// the job never both send it, and a run after a successful one does
// nothing. lastAttempt marks the message failed when this send fails too.
//
// It returns nil when there is nothing more to do; ErrGone, ErrBusy or a
// *PermanentError for the job to cancel or snooze; any other error is worth
// a retry.
func (s *Sender) Deliver(ctx context.Context, id int64, lastAttempt bool) error {
	var outcome error
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		m := new(Message)
		err := tx.NewSelect().Model(m).Where("mm.id = ?", id).For("UPDATE SKIP LOCKED").Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			exists, err := tx.NewSelect().Model((*Message)(nil)).Where("id = ?", id).Exists(ctx)
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
		if m.Status != StatusQueued {
			return nil
		}
		now := s.now()
		q := tx.NewUpdate().Model(m).WherePK().Set("updated_at = ?", now)
		if s.transport == nil {
			_, err := q.Set("status = ?", StatusOutbox).Exec(ctx)
			return err
		}
		sendErr := s.transport.Send(ctx, m)
		q = q.Set("attempts = attempts + 1")
		var perm *PermanentError
		switch {
		case sendErr == nil:
			q = q.Set("status = ?", StatusSent).Set("sent_at = ?", now).Set("last_error = NULL")
		case errors.As(sendErr, &perm) || lastAttempt:
			q = q.Set("status = ?", StatusFailed).Set("last_error = ?", sendErr.Error())
		default:
			q = q.Set("last_error = ?", sendErr.Error())
		}
		outcome = sendErr
		_, err = q.Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("deliver mail %d: %w", id, err)
	}
	return outcome
}
