package licensing

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/settings"
)

// Deactivation reasons, stored on the activation and carried by the
// activation.deactivated webhook (docs/api/webhooks.md).
const (
	ReasonClient   = "client"
	ReasonCustomer = "customer"
	ReasonAdmin    = "admin"
	ReasonBlocked  = "blocked"
	ReasonReplaced = "replaced"
	// ReasonReleased: the activation missed its heartbeat and its slot was
	// freed (docs/licensing.md#heartbeats-and-automatic-release); it is
	// told by the activation.released webhook, not activation.deactivated.
	ReasonReleased = "released"
	// ReasonCheckedIn: a floating seat given back by its app
	// (docs/licensing.md#floating-licenses).
	ReasonCheckedIn = "checked_in"
)

// Hooks are called inside the transaction of a change, with that
// transaction, so that what they enqueue (webhooks, docs/api/webhooks.md; emails)
// commits or rolls back with the change. Any may be nil. The license passed
// is the state after the change.
type Hooks struct {
	LicenseCreated        func(ctx context.Context, tx bun.IDB, l *License) error
	LicenseUpdated        func(ctx context.Context, tx bun.IDB, l *License, changed []string) error
	LicenseBlocked        func(ctx context.Context, tx bun.IDB, l *License) error
	LicenseUnblocked      func(ctx context.Context, tx bun.IDB, l *License) error
	LicenseRenewed        func(ctx context.Context, tx bun.IDB, l *License, r *Renewal) error
	ActivationCreated     func(ctx context.Context, tx bun.IDB, a *Activation, l *License) error
	ActivationDeactivated func(ctx context.Context, tx bun.IDB, a *Activation, l *License, reason string) error
	// ActivationReleased: a for want of heartbeats (LastSignOfLife is its
	// last sign of life).
	ActivationReleased func(ctx context.Context, tx bun.IDB, a *Activation, l *License) error
	// Quiet, when set, reports whether under set the hooks an activate may
	// call (ActivationCreated, LicenseUpdated, ActivationDeactivated,
	// ActivationReleased) write nothing (no webhook of theirs enabled).
	// Activate then runs its transaction pipelined (db.RunPipelined: two
	// round trips, not four), which has no *sql.Tx to enqueue jobs
	// through. A hook that writes after all (the settings changed since)
	// fails there, and activate runs again as before. Unset, activate
	// assumes the hooks write unless all four are nil.
	Quiet func(set *settings.Values) bool
}

// quietOnActivate reports whether no hook an activate calls writes
// anything under set (Hooks.Quiet).
func (h Hooks) quietOnActivate(set *settings.Values) bool {
	if h.ActivationCreated == nil && h.LicenseUpdated == nil && h.ActivationDeactivated == nil && h.ActivationReleased == nil {
		return true
	}
	return h.Quiet != nil && set != nil && h.Quiet(set)
}

func (h Hooks) activationReleased(ctx context.Context, tx bun.IDB, a *Activation, l *License) error {
	if h.ActivationReleased == nil {
		return nil
	}
	return wrapHook("activation.released", h.ActivationReleased(ctx, tx, a, l))
}

func (h Hooks) licenseCreated(ctx context.Context, tx bun.IDB, l *License) error {
	if h.LicenseCreated == nil {
		return nil
	}
	return wrapHook("license.created", h.LicenseCreated(ctx, tx, l))
}

func (h Hooks) licenseUpdated(ctx context.Context, tx bun.IDB, l *License, changed []string) error {
	if h.LicenseUpdated == nil || len(changed) == 0 {
		return nil
	}
	return wrapHook("license.updated", h.LicenseUpdated(ctx, tx, l, changed))
}

func (h Hooks) licenseBlocked(ctx context.Context, tx bun.IDB, l *License) error {
	if h.LicenseBlocked == nil {
		return nil
	}
	return wrapHook("license.blocked", h.LicenseBlocked(ctx, tx, l))
}

func (h Hooks) licenseUnblocked(ctx context.Context, tx bun.IDB, l *License) error {
	if h.LicenseUnblocked == nil {
		return nil
	}
	return wrapHook("license.unblocked", h.LicenseUnblocked(ctx, tx, l))
}

func (h Hooks) licenseRenewed(ctx context.Context, tx bun.IDB, l *License, r *Renewal) error {
	if h.LicenseRenewed == nil {
		return nil
	}
	return wrapHook("license.renewed", h.LicenseRenewed(ctx, tx, l, r))
}

func (h Hooks) activationCreated(ctx context.Context, tx bun.IDB, a *Activation, l *License) error {
	if h.ActivationCreated == nil {
		return nil
	}
	return wrapHook("activation.created", h.ActivationCreated(ctx, tx, a, l))
}

func (h Hooks) activationsDeactivated(ctx context.Context, tx bun.IDB, as []*Activation, l *License, reason string) error {
	if h.ActivationDeactivated == nil {
		return nil
	}
	for _, a := range as {
		if err := h.ActivationDeactivated(ctx, tx, a, l, reason); err != nil {
			return wrapHook("activation.deactivated", err)
		}
	}
	return nil
}

func wrapHook(event string, err error) error {
	if err != nil {
		return &hookError{event: event, err: err}
	}
	return nil
}

// hookError is a hook's failure, told apart so that a pipelined activate
// whose hooks turned out to write runs again in a transaction they can
// enqueue in (Hooks.Quiet).
type hookError struct {
	event string
	err   error
}

func (e *hookError) Error() string { return e.event + " hook: " + e.err.Error() }
func (e *hookError) Unwrap() error { return e.err }
