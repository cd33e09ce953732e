package licensing

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
)

// Deactivation by the client (docs/api/external.md#deactivate). It works for inactive products
// and for blocked or expired licenses: a customer must always be able to
// free a slot. The handler resolves the product active or not.

// DeactivateActivation frees the slot of a token's activation: verify's
// token steps 3–6, then an inactive activation → LICENSE_DEACTIVATED.
func (s *Service) DeactivateActivation(ctx context.Context, idb bun.IDB, req VerifyRequest) (*Failure, error) {
	return s.deactivateToken(ctx, idb, req, ReasonClient)
}

// deactivateToken is DeactivateActivation with the reason to store
// (client, or checked_in for a floating seat's check-in).
func (s *Service) deactivateToken(ctx context.Context, idb bun.IDB, req VerifyRequest, reason string) (*Failure, error) {
	var failure *Failure
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		load := func(ctx context.Context, id int64) (*activationState, error) {
			return s.loadActivationState(ctx, tx, id)
		}
		st, f, err := s.tokenActivation(ctx, load, req.Product, req.ActivationID, req.TokenProductRef, req.ClientName, req.Caller)
		if err != nil || f != nil {
			failure = f
			return err
		}
		a, err := lockActivation(ctx, tx, st.ID)
		if err != nil {
			return err
		}
		// Checked under the lock: two deactivations at once free one slot
		// once, and the second answers "deactivated".
		if !a.IsActive {
			failure = failed(FailDeactivated)
			return nil
		}
		return s.clientDeactivate(ctx, tx, req.Product, req.Caller, []*Activation{a}, reason)
	})
	if err != nil {
		return nil, fmt.Errorf("deactivate activation %d: %w", req.ActivationID, err)
	}
	return failure, nil
}

// DeactivateCode frees every active activation of a license code on the
// caller's host (normally one), with the sent client name when one is sent.
func (s *Service) DeactivateCode(ctx context.Context, idb bun.IDB, req VerifyCodeRequest) (*Failure, error) {
	var failure *Failure
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		l, f, err := codeLicense(ctx, tx, req.Product, req.LicenseCode, req.ClientName)
		if err != nil || f != nil {
			failure = f
			return err
		}
		// The license before its activations (lockLicenseOf).
		if err := lockLicenseRow(ctx, tx, l.ID); err != nil {
			return err
		}
		matches, err := hostActivations(ctx, tx, l.ID, req.Product.ID, req.ClientName, req.Caller.Host, true)
		if err != nil {
			return err
		}
		var active []*Activation
		for _, a := range matches {
			if a.IsActive {
				active = append(active, a)
			}
		}
		if len(active) == 0 {
			failure = failed(FailVerifyInvalid)
			return nil
		}
		return s.clientDeactivate(ctx, tx, req.Product, req.Caller, active, ReasonClient)
	})
	if err != nil {
		return nil, fmt.Errorf("deactivate license %s: %w", req.LicenseCode, err)
	}
	return failure, nil
}

// clientDeactivate deactivates activations of one license at the client's
// request and logs it.
func (s *Service) clientDeactivate(ctx context.Context, tx bun.IDB, p *catalog.Product, caller Caller, as []*Activation, reason string) error {
	l, err := s.deactivate(ctx, tx, as, reason)
	if err != nil {
		return err
	}
	url := caller.URL
	if url == "" && as[0].URL != nil {
		url = *as[0].URL
	}
	ids := make([]int64, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	err = audit.Record(ctx, tx, audit.Entry{
		Type: "license.deactivated", Actor: caller.Key, IP: caller.IP,
		Subject: &audit.Subject{Type: audit.SubjectLicense, ID: l.ID},
		Message: fmt.Sprintf("License %s %s via API for product %s from %s.", l.LicenseCode, deactivatedVerb(reason), p.Name, url),
		Data:    map[string]any{"activation_ids": ids},
	})
	if err != nil {
		return err
	}
	return recordCustomerActivity(ctx, tx, l, audit.CustomerLicenseDeactivated, caller.IP, as[0])
}

// deactivatedVerb words a client's deactivation in the activity log.
func deactivatedVerb(reason string) string {
	if reason == ReasonCheckedIn {
		return "seat checked in"
	}
	return "deactivated"
}
