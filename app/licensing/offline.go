package licensing

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
)

// Offline activation (docs/api/verifying.md#offline-activation): a machine
// without a connection hands over an activation request; the customer (in
// the portal) or an admin (in the console) submits it, Activate applies
// the online rules to it, and the answer is a license file bound to the
// machine's fingerprint. The machine frees its slot again with a release
// proof, an HMAC made with the release key its file carries.

// OfflineActivation is the binding of an offline activation.
type OfflineActivation struct {
	bun.BaseModel `bun:"table:offline_activations,alias:o"`

	ActivationID int64      `bun:"activation_id,pk"`
	Fingerprint  string     `bun:"fingerprint"`
	RequestedAt  time.Time  `bun:"requested_at"`
	ValidUntil   time.Time  `bun:"valid_until"`
	ReleasedAt   *time.Time `bun:"released_at"`
	// ReleaseKey is the key of the activation's release proofs, derived
	// from the instance secret (never stored); set when it is issued.
	ReleaseKey []byte `bun:"-"`
}

var (
	// ErrNoOfflineSecret: the service was built without the instance
	// secret its release keys derive from.
	ErrNoOfflineSecret = errors.New("licensing: offline activation needs the instance secret")
	// ErrReleaseInvalid answers a release proof that names no offline
	// activation of the actor's, or whose MAC does not verify: one answer
	// for both, so a proof reveals nothing of other licenses.
	ErrReleaseInvalid = errkind.New(errkind.Invalid, "This release proof does not match an offline activation of yours.")
	// ErrOfflineNeedsRelease: a customer deactivates an offline activation,
	// which only the machine's release proof frees.
	ErrOfflineNeedsRelease = errkind.New(errkind.Forbidden, "An offline activation is freed by the release proof its machine shows.")
	// ErrAlreadyReleased: the activation no longer holds a slot.
	ErrAlreadyReleased = errkind.New(errkind.Conflict, "This offline activation is already released or deactivated.")
)

// Failures of an offline activation beyond the online ones: the license
// code and client name blacklists, which the API answers with 422
// (docs/api/authentication.md#blacklists).
var (
	FailCodeBlacklisted  = Failure{Message: "The license code is blacklisted.", StatusCode: CodeLicenseInvalid}
	FailBuyerBlacklisted = Failure{Message: "The client name is blacklisted.", StatusCode: CodeLicenseInvalid}
	// FailOfflineFloating: a floating license's seats are held only while
	// heartbeats keep them, which an offline machine cannot send
	// (docs/licensing.md#offline-activations-and-heartbeats).
	FailOfflineFloating = Failure{Message: "A floating license cannot be activated offline: its seats are held only while the machine sends heartbeats.", StatusCode: CodeLicenseInvalid}
)

// OfflineActivateRequest is an activation request as the portal or the
// console received it.
type OfflineActivateRequest struct {
	Request OfflineRequest
	// Customer, when set, is the portal's signed-in customer: only a
	// license of theirs (linking rule) activates.
	Customer *customers.Customer
	By       audit.Source
}

// ActivateOffline activates a license for an offline machine with the
// rules of an online activation: the blacklists of code and client name,
// an active product, then Activate's checks (slots, blocking, expiry,
// domains and IPs — a license limited to domains or IPs has no caller to
// match and is refused). The result's Offline holds the binding the license
// file carries (OfflineLicenseFile).
func (s *Service) ActivateOffline(ctx context.Context, idb bun.IDB, set *settings.Values, req OfflineActivateRequest) (*ActivateResult, error) {
	if len(s.offlineSecret) == 0 {
		return nil, ErrNoOfflineSecret
	}
	r := req.Request
	fail := func(f Failure) (*ActivateResult, error) { return &ActivateResult{Failure: &f}, nil }
	if BlacklistMatch(set.BlacklistedLicenseCodes, r.LicenseCode) {
		return fail(FailCodeBlacklisted)
	}
	if BlacklistMatch(set.BlacklistedBuyerNames, r.ClientName) {
		return fail(FailBuyerBlacklisted)
	}
	product, err := catalog.ByRef(ctx, idb, r.ProductRef)
	if errors.Is(err, catalog.ErrNotFound) || (err == nil && !product.IsActive) {
		return fail(FailProductNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("offline activation: %w", err)
	}
	if req.Customer != nil {
		q := idb.NewSelect().Model((*License)(nil)).Where("l.license_code = ?", r.LicenseCode)
		ok, err := customers.WhereLinked(q, "l", req.Customer).Exists(ctx)
		if err != nil {
			return nil, fmt.Errorf("offline activation: %w", err)
		}
		if !ok {
			return fail(FailActivateInvalid)
		}
	}
	return s.activateProduct(ctx, idb, set, product, ActivateRequest{
		ProductRef: product.ReferenceID, LicenseCode: r.LicenseCode, ClientName: r.ClientName,
		Caller:  Caller{IP: req.By.IP, Key: req.By.Actor},
		Offline: &r,
	})
}

// offlineBinding is the binding of offline activation id of l, made now:
// valid for the offline_license_validity_days setting or until the
// license expires, whichever is first.
func (s *Service) offlineBinding(id int64, l *License, set *settings.Values, r OfflineRequest, now time.Time) (*OfflineActivation, error) {
	if len(s.offlineSecret) == 0 {
		return nil, ErrNoOfflineSecret
	}
	until := fields.AddDays(now, set.OfflineLicenseValidityDays)
	if l.ExpiresAt != nil && l.ExpiresAt.Before(until) {
		until = *l.ExpiresAt
	}
	return &OfflineActivation{
		ActivationID: id, Fingerprint: r.Fingerprint, RequestedAt: r.RequestedAt, ValidUntil: until.UTC(),
		ReleaseKey: s.releaseKey(id, r.Fingerprint),
	}, nil
}

// releaseKey derives activation id's release key from the instance
// secret, so nothing secret is stored for it:
// HMAC-SHA256(HMAC-SHA256(secret, label), "<id>\n<fingerprint>").
func (s *Service) releaseKey(id int64, fingerprint string) []byte {
	k := hmac.New(sha256.New, s.offlineSecret)
	k.Write([]byte("licensor offline release key v1"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(strconv.FormatInt(id, 10) + "\n" + fingerprint))
	return m.Sum(nil)
}

func insertOffline(ctx context.Context, tx bun.IDB, o *OfflineActivation) error {
	if _, err := tx.NewInsert().Model(o).Exec(ctx); err != nil {
		return fmt.Errorf("insert offline activation %d: %w", o.ActivationID, err)
	}
	return nil
}

// OfflineLicenseFile signs the license file of an offline activation: the
// license as activated, bound to the machine (signing.OfflineBinding),
// issued at now. cu is the customer named in it as for LicenseFile.
func OfflineLicenseFile(ring *signing.KeyRing, res *ActivateResult, cu *customers.Customer, now time.Time) (name string, file []byte, err error) {
	if res == nil || res.Offline == nil || res.License == nil {
		return "", nil, errors.New("licensing: not an offline activation")
	}
	o := res.Offline
	_, file, err = licenseFile(ring, res.License, cu, now, &signing.OfflineBinding{
		ActivationID: o.ActivationID, Fingerprint: o.Fingerprint, ValidUntil: o.ValidUntil, ReleaseKey: o.ReleaseKey,
	})
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("%s_%s_offline_%d.lic", res.License.ProductReferenceID, res.License.LicenseCode, o.ActivationID), file, nil
}

// OfflineReleaseRequest is a release proof as the portal or the console
// received it.
type OfflineReleaseRequest struct {
	Proof ReleaseProof
	// Customer, when set, is the portal's signed-in customer: only their
	// activations are released.
	Customer *customers.Customer
	By       audit.Source
}

// ReleaseOffline frees the slot of the offline activation a release proof
// names, once its MAC verifies with the activation's release key, and
// returns the activation as it now is.
func (s *Service) ReleaseOffline(ctx context.Context, idb bun.IDB, req OfflineReleaseRequest) (*Activation, error) {
	if len(s.offlineSecret) == 0 {
		return nil, ErrNoOfflineSecret
	}
	p := req.Proof
	var out *Activation
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		a, err := lockActivation(ctx, tx, p.ActivationID)
		if errors.Is(err, ErrActivationNotFound) {
			return ErrReleaseInvalid
		}
		if err != nil {
			return err
		}
		o := new(OfflineActivation)
		if err := tx.NewSelect().Model(o).Where("activation_id = ?", a.ID).For("UPDATE").Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrReleaseInvalid
			}
			return fmt.Errorf("offline activation %d: %w", a.ID, err)
		}
		if req.Customer != nil {
			if _, err := CustomerActivation(ctx, tx, req.Customer, a.ID); err != nil {
				if errors.Is(err, ErrActivationNotFound) {
					return ErrReleaseInvalid
				}
				return err
			}
		}
		want := SignRelease(s.releaseKey(a.ID, o.Fingerprint), a.ID, a.LicenseCode, o.Fingerprint, p.ReleasedAt)
		if !hmac.Equal(want.MAC, p.MAC) || p.Fingerprint != o.Fingerprint || !strings.EqualFold(p.LicenseCode, a.LicenseCode) {
			return ErrReleaseInvalid
		}
		if !a.IsActive {
			return ErrAlreadyReleased
		}
		l, err := s.deactivate(ctx, tx, []*Activation{a}, ReasonClient)
		if err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.NewUpdate().Model(o).Set("released_at = ?", now).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("release offline activation %d: %w", a.ID, err)
		}
		if l != nil {
			err = audit.Record(ctx, tx, audit.Entry{
				Type: "license.deactivated", Actor: req.By.Actor, IP: req.By.IP,
				Subject: &audit.Subject{Type: audit.SubjectLicense, ID: l.ID},
				Message: fmt.Sprintf("License %s released offline %s by machine %s.", l.LicenseCode, req.By.Actor.Via(), o.Fingerprint),
				Data:    map[string]any{"activation_ids": []int64{a.ID}, "fingerprint": o.Fingerprint},
			})
			if err != nil {
				return err
			}
			if err := recordCustomerActivity(ctx, tx, l, audit.CustomerLicenseDeactivated, req.By.IP, a); err != nil {
				return err
			}
		}
		out = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("release offline activation %d: %w", p.ActivationID, err)
	}
	return out, nil
}

// OfflineOf returns the offline binding of each activation id that has one.
func OfflineOf(ctx context.Context, idb bun.IDB, ids []int64) (map[int64]*OfflineActivation, error) {
	out := map[int64]*OfflineActivation{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []*OfflineActivation
	if err := idb.NewSelect().Model(&rows).Where("activation_id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("offline activations: %w", err)
	}
	for _, o := range rows {
		out[o.ActivationID] = o
	}
	return out, nil
}

// ReleaseMessageOf is what a form says of ReleaseOffline's refusals (a proof
// that does not match, an activation already released); "" for any other
// error.
func ReleaseMessageOf(err error) string {
	for _, e := range []error{ErrReleaseInvalid, ErrAlreadyReleased} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return ""
}
