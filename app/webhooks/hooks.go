package webhooks

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/resources"
	"github.com/licensor/licensor/app/settings"
)

// LicensingHooks returns the licensing.Hooks that emit license.created,
// license.updated, license.blocked, license.unblocked, activation.created,
// activation.deactivated and activation.released in the transaction of the change, with the
// payloads of docs/api/webhooks.md. Give them to licensing.NewService.
func (e *Emitter) LicensingHooks() licensing.Hooks {
	return licensing.Hooks{
		LicenseCreated: func(ctx context.Context, tx bun.IDB, l *licensing.License) error {
			return e.emitLicense(ctx, tx, EventLicenseCreated, l, nil)
		},
		LicenseUpdated: func(ctx context.Context, tx bun.IDB, l *licensing.License, changed []string) error {
			return e.emitLicense(ctx, tx, EventLicenseUpdated, l, changed)
		},
		LicenseBlocked: func(ctx context.Context, tx bun.IDB, l *licensing.License) error {
			return e.emitLicense(ctx, tx, EventLicenseBlocked, l, nil)
		},
		LicenseUnblocked: func(ctx context.Context, tx bun.IDB, l *licensing.License) error {
			return e.emitLicense(ctx, tx, EventLicenseUnblocked, l, nil)
		},
		LicenseRenewed: func(ctx context.Context, tx bun.IDB, l *licensing.License, r *licensing.Renewal) error {
			return e.emitRenewed(ctx, tx, l, r)
		},
		ActivationCreated: func(ctx context.Context, tx bun.IDB, a *licensing.Activation, l *licensing.License) error {
			return e.emitActivation(ctx, tx, EventActivationCreated, a, l, "")
		},
		ActivationDeactivated: func(ctx context.Context, tx bun.IDB, a *licensing.Activation, l *licensing.License, reason string) error {
			return e.emitActivation(ctx, tx, EventActivationDeactivated, a, l, reason)
		},
		ActivationReleased: func(ctx context.Context, tx bun.IDB, a *licensing.Activation, l *licensing.License) error {
			return e.emitActivation(ctx, tx, EventActivationReleased, a, l, "")
		},
		// Each hook above writes only when its event is enabled.
		Quiet: func(set *settings.Values) bool {
			for _, ev := range activateEvents {
				if set.WebhookEventEnabled(ev) {
					return false
				}
			}
			return true
		},
	}
}

// activateEvents are the events whose hooks an activate may call
// (licensing.Hooks.Quiet).
var activateEvents = []string{EventActivationCreated, EventLicenseUpdated, EventActivationDeactivated, EventActivationReleased}

// CustomerCreated emits customer.created (`{"customer":{…}}`) in the
// transaction that created c. It is the webhook half of customers.Hooks
// Created; main joins it with the welcome email.
func (e *Emitter) CustomerCreated(ctx context.Context, tx bun.IDB, c *customers.Customer) error {
	set, err := e.settings.Get(ctx)
	if err != nil {
		return err
	}
	_, err = e.Emit(ctx, tx, set, Event{Type: EventCustomerCreated, Payload: struct {
		Customer customerResource `json:"customer"`
	}{presentCustomer(c, e.baseURL)}})
	return err
}

// renewalResource is a renewal in the license.renewed payload
// (docs/api/webhooks.md).
type renewalResource struct {
	Days          int     `json:"days"`
	ExpiresBefore *string `json:"expires_at_before"`
	ExpiresAfter  *string `json:"expires_at_after"`
	UpdatesBefore *string `json:"updates_until_before"`
	UpdatesAfter  *string `json:"updates_until_after"`
	RenewedAt     string  `json:"renewed_at"`
}

type licenseRenewedPayload struct {
	License licenseResource `json:"license"`
	Renewal renewalResource `json:"renewal"`
}

func (e *Emitter) emitRenewed(ctx context.Context, tx bun.IDB, l *licensing.License, r *licensing.Renewal) error {
	set, err := e.settings.Get(ctx)
	if err != nil || !set.WebhookEventEnabled(EventLicenseRenewed) {
		return err
	}
	_, err = e.Emit(ctx, tx, set, Event{Type: EventLicenseRenewed, Payload: licenseRenewedPayload{
		License: presentLicense(l, e.now()),
		Renewal: renewalResource{
			Days:          r.Days,
			ExpiresBefore: resources.TimestampOrNull(r.ExpiresBefore), ExpiresAfter: resources.TimestampOrNull(r.ExpiresAfter),
			UpdatesBefore: resources.TimestampOrNull(r.UpdatesBefore), UpdatesAfter: resources.TimestampOrNull(r.UpdatesAfter),
			RenewedAt: resources.Timestamp(r.RenewedAt),
		},
	}})
	return err
}

type licensePayload struct {
	License licenseResource `json:"license"`
}

type licenseUpdatedPayload struct {
	License licenseResource `json:"license"`
	Changed []string        `json:"changed"`
}

type activationPayload struct {
	Activation activationResource `json:"activation"`
	License    licenseResource    `json:"license"`
}

type activationDeactivatedPayload struct {
	Activation activationResource `json:"activation"`
	License    licenseResource    `json:"license"`
	Reason     string             `json:"reason"`
}

func (e *Emitter) emitLicense(ctx context.Context, tx bun.IDB, event string, l *licensing.License, changed []string) error {
	set, err := e.settings.Get(ctx)
	if err != nil || !set.WebhookEventEnabled(event) {
		return err
	}
	var payload any = licensePayload{presentLicense(l, e.now())}
	if event == EventLicenseUpdated {
		if changed == nil {
			changed = []string{}
		}
		payload = licenseUpdatedPayload{presentLicense(l, e.now()), changed}
	}
	_, err = e.Emit(ctx, tx, set, Event{Type: event, Payload: payload, License: ref(l)})
	return err
}

func (e *Emitter) emitActivation(ctx context.Context, tx bun.IDB, event string, a *licensing.Activation, l *licensing.License, reason string) error {
	set, err := e.settings.Get(ctx)
	if err != nil || !set.WebhookEventEnabled(event) {
		return err
	}
	var payload any = activationPayload{presentActivation(a, l), presentLicense(l, e.now())}
	if event == EventActivationDeactivated {
		payload = activationDeactivatedPayload{presentActivation(a, l), presentLicense(l, e.now()), reason}
	}
	_, err = e.Emit(ctx, tx, set, Event{Type: event, Payload: payload, License: ref(l)})
	return err
}

func ref(l *licensing.License) *LicenseRef {
	return &LicenseRef{ID: l.ID, Code: l.LicenseCode, Product: l.ProductName}
}
