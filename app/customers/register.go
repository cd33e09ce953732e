package customers

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/passwords"
	"github.com/licensor/licensor/app/settings"
)

// ErrAlreadyRegistered is returned by Register for an email that already
// has an account, after its owner was sent a password reset link (they may
// have forgotten they registered). The caller answers as for a new
// account, so the form never tells whether an address is registered.
var ErrAlreadyRegistered = errkind.New(errkind.Conflict, "the email already has an account")

// Registration is a customer creating their own account in the portal.
type Registration struct {
	Name, Email, Password string
	// Refused says the caller refused the form already (a CAPTCHA not
	// solved, a password confirmation that does not match): Register
	// checks the fields, so every error is answered at once, and does
	// nothing else.
	Refused bool
}

// Register creates the account r asks for, with a generated client ID
// (docs/features.md#customer-portal). It answers the field errors (a
// *fields.Error) of Create and a missing password — but an email that has
// an account is no error: with every field right it returns
// ErrAlreadyRegistered after hashing the password as a new account's
// registration does and the ResetRequested hook. With
// email_verification_required the account stays unconfirmed until its
// confirmation link, which the ConfirmEmail hook queues in the same
// transaction, is followed; otherwise it may sign in at once. Either way
// its email is unproven, so it links no license by email, until the link
// is followed (docs/deploy.md#licenses-linked-by-email). The Registered hook follows
// (customer.created, and no welcome email: the customer chose the
// password).
func (s *Service) Register(ctx context.Context, idb bun.IDB, by audit.Source, set *settings.Values, r Registration) (*Customer, error) {
	confirmed := !set.EmailVerificationRequired
	p := CreateParams{Name: r.Name, Email: r.Email, Password: r.Password, Confirmed: &confirmed, SelfRegistered: true}
	c, verr := prepare(p, set)
	if err := s.checkUnique(ctx, idb, verr, c, 0); err != nil {
		return nil, err
	}
	if r.Password == "" {
		verr.Add("password", fields.Required("password"))
	}
	verr, taken := withoutTakenEmail(verr)
	if err := verr.Err(); err != nil || r.Refused {
		return nil, err
	}
	if taken {
		return nil, s.registeredAgain(ctx, idb, r.Password, c.Email)
	}

	var created *Customer
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		cu, err := s.insert(ctx, tx, by, set, p)
		if err != nil {
			return err
		}
		if s.hooks.Registered != nil {
			if err := s.hooks.Registered(ctx, tx, cu); err != nil {
				return fmt.Errorf("customer registered hook: %w", err)
			}
		}
		// Even when the account may sign in at once, its email links
		// licenses only once this link proves it.
		if s.hooks.ConfirmEmail != nil {
			if err := s.hooks.ConfirmEmail(ctx, tx, set, cu); err != nil {
				return fmt.Errorf("customer confirmation email: %w", err)
			}
		}
		created = cu
		return nil
	})
	if verr, ok := fields.As(err); ok {
		// Registered meanwhile by someone else: the same answer.
		if rest, taken := withoutTakenEmail(verr); taken && rest.Len() == 0 {
			return nil, s.registeredAgain(ctx, idb, r.Password, c.Email)
		}
	}
	if err != nil {
		return nil, err
	}
	return created, nil
}

// registeredAgain queues a password reset link to the owner of email. It
// hashes the password as a new account's registration does, so both
// answers take as long (docs/deploy.md#registration-and-forgotten-passwords).
func (s *Service) registeredAgain(ctx context.Context, idb bun.IDB, password, email string) error {
	if _, err := passwords.Hash(password); err != nil {
		return fmt.Errorf("registration of a known email: %w", err)
	}
	if err := s.RequestPasswordReset(ctx, idb, email); err != nil {
		return fmt.Errorf("registration of a known email: %w", err)
	}
	return ErrAlreadyRegistered
}

// RequestPasswordReset asks for a reset link to the account of email, if
// there is one, through the ResetRequested hook (a job that looks the
// account up later): the same work whether or not there is one.
func (s *Service) RequestPasswordReset(ctx context.Context, idb bun.IDB, email string) error {
	if s.hooks.ResetRequested == nil {
		return nil
	}
	return s.hooks.ResetRequested(ctx, idb, email)
}

// withoutTakenEmail returns verr without an "email has already been
// taken" error, and whether it had one.
func withoutTakenEmail(verr *fields.Error) (*fields.Error, bool) {
	out, taken := &fields.Error{}, false
	for _, f := range verr.Fields() {
		if f.Field == "email" && f.Message == fields.Taken("email") {
			taken = true
			continue
		}
		out.Add(f.Field, f.Message)
	}
	return out, taken
}
