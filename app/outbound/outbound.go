// Package outbound is what a node sends out when its data changes: it
// builds the job queue, the mailer and the webhook emitter of a node, and
// the licensing and customers hooks that emit webhooks and queue emails
// inside the transaction of each change. app/node, the one composition
// root, builds it once per node and hands its hooks to the licensing and
// customers services. (Not to be confused with app/pgnotify, PostgreSQL's
// LISTEN/NOTIFY between nodes.)
package outbound

import (
	"context"
	"database/sql"
	"io/fs"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/webhooks"
)

// Senders holds what enqueues emails and webhooks.
type Senders struct {
	Queue    *jobqueue.Queue
	Mailer   *mail.Mailer
	Webhooks *webhooks.Emitter
	Settings *settings.Store
}

// Options configure New.
type Options struct {
	// SQL is the *sql.DB under bun: jobs join bun transactions through it.
	SQL      *sql.DB
	Settings *settings.Store
	// Views holds emails/ (views.FS).
	Views fs.FS
	// BaseURL is config base_url.
	BaseURL string
	Now     func() time.Time
}

// New builds a node's Senders.
func New(o Options) (*Senders, error) {
	q, err := jobqueue.New(o.SQL)
	if err != nil {
		return nil, err
	}
	m, err := mail.NewMailer(mail.Options{Queue: q, Views: o.Views, BaseURL: o.BaseURL, Now: o.Now})
	if err != nil {
		return nil, err
	}
	return &Senders{Queue: q, Mailer: m, Webhooks: webhooks.NewEmitter(q, o.Settings, o.BaseURL, o.Now), Settings: o.Settings}, nil
}

// LicensingHooks emit the license and activation webhooks; give them to
// licensing.NewService.
func (s *Senders) LicensingHooks() licensing.Hooks { return s.Webhooks.LicensingHooks() }

// CustomerHooks emit customer.created and queue the welcome email (when
// send_welcome_email is on, with a set-password link when the account has
// no password) for customers created by an admin, the API, an import or an
// order; for a customer who registered themselves, customer.created alone
// and the confirmation email or, for a known email, a password reset link;
// and the new-device alert of a portal sign-in. Give them to
// customers.NewService.
func (s *Senders) CustomerHooks() customers.Hooks {
	return customers.Hooks{Created: func(ctx context.Context, tx bun.IDB, c *customers.Customer, hasPassword bool) error {
		if err := s.Webhooks.CustomerCreated(ctx, tx, c); err != nil {
			return err
		}
		set, err := s.Settings.Get(ctx)
		if err != nil {
			return err
		}
		return s.Mailer.Welcome(ctx, tx, set, c, hasPassword)
	},
		Registered: func(ctx context.Context, tx bun.IDB, c *customers.Customer) error {
			return s.Webhooks.CustomerCreated(ctx, tx, c)
		},
		ConfirmEmail: func(ctx context.Context, tx bun.IDB, set *settings.Values, c *customers.Customer) error {
			return s.Mailer.EmailConfirmation(ctx, tx, set, c, c.Email)
		},
		ResetPassword: s.Mailer.PasswordReset,
		ResetRequested: func(ctx context.Context, idb bun.IDB, email string) error {
			_, err := s.Queue.Add(ctx, idb, jobargs.PasswordReset{Email: email}, nil)
			return err
		},
		NewDevice: s.Mailer.NewDeviceSignIn,
	}
}
