package licensing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/settings"
)

// VerifyRequest is a verification by activation token (api.md §4.4 token
// path). The handler has already checked the token's signature (step 1)
// and resolved the active product (step 2, reported first).
type VerifyRequest struct {
	Product *catalog.Product
	// ActivationID and TokenProductRef are the token's aid and pid.
	ActivationID    int64
	TokenProductRef string
	ClientName      string
	Caller          Caller
}

// VerifyCodeRequest is a verification by license code (§4.4 code path; also
// the legacy LicenseBox token, whose license and client take the places of
// LicenseCode and ClientName).
type VerifyCodeRequest struct {
	Product     *catalog.Product
	LicenseCode string
	ClientName  string
	Caller      Caller
}

// activationState is what verify and deactivate read of an activation and
// its license, in one indexed query.
type activationState struct {
	ID           int64      `bun:"id"`
	ProductID    int64      `bun:"product_id"`
	LicenseID    int64      `bun:"license_id"`
	ClientName   *string    `bun:"client_name"`
	Domain       *string    `bun:"domain"`
	IP           *string    `bun:"ip"`
	IsValid      bool       `bun:"is_valid"`
	IsActive     bool       `bun:"is_active"`
	LicenseValid bool       `bun:"license_valid"`
	ExpiresAt    *time.Time `bun:"expires_at"`
}

// activationStateSQL is loadActivationState's query. Unlike bun's queries,
// whose texts embed their values, it passes the id as a parameter, so each
// connection prepares it once: verify is the API's hottest path.
const activationStateSQL = `SELECT a.id, a.product_id, a.license_id, a.client_name, a.domain, a.ip, a.is_valid, a.is_active,
		l.is_valid AS license_valid, l.expires_at
	FROM activations AS a JOIN licenses AS l ON l.id = a.license_id
	WHERE a.id = $1`

func loadActivationState(ctx context.Context, idb bun.IDB, id int64) (*activationState, error) {
	r := preparedRunner(idb)
	if r == nil {
		var st activationState
		err := idb.NewRaw(strings.Replace(activationStateSQL, "$1", "?", 1), id).Scan(ctx, &st)
		return activationStateResult(&st, id, err)
	}
	row := r.QueryRowContext(ctx, activationStateSQL, pgx.QueryExecModeCacheStatement, id)
	var (
		st                     activationState
		clientName, domain, ip sql.NullString
		expiresAt              sql.NullTime
	)
	err := row.Scan(&st.ID, &st.ProductID, &st.LicenseID, &clientName, &domain, &ip, &st.IsValid, &st.IsActive, &st.LicenseValid, &expiresAt)
	st.ClientName, st.Domain, st.IP = optionalString(clientName), optionalString(domain), optionalString(ip)
	if expiresAt.Valid {
		st.ExpiresAt = &expiresAt.Time
	}
	return activationStateResult(&st, id, err)
}

func activationStateResult(st *activationState, id int64, err error) (*activationState, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load activation %d: %w", id, err)
	}
	return st, nil
}

func optionalString(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

// VerifyActivation checks an activation token's activation (§4.4 token
// path, steps 3–10). A nil Failure means verified. It writes nothing: the
// verification is handed to the service's VerifyRecorder.
func (s *Service) VerifyActivation(ctx context.Context, idb bun.IDB, set *settings.Values, req VerifyRequest) (*Failure, error) {
	load := func(ctx context.Context, id int64) (*activationState, error) {
		st, gen, ok := s.activations.get(id)
		if ok {
			return st, nil
		}
		st, err := loadActivationState(ctx, idb, id)
		if err == nil {
			s.activations.put(gen, st)
		}
		return st, err
	}
	st, f, err := s.tokenActivation(ctx, load, req.Product, req.ActivationID, req.TokenProductRef, req.ClientName, req.Caller)
	if err != nil || f != nil {
		return f, err
	}
	now := s.now()
	switch {
	case !st.LicenseValid:
		// Blocking deactivates activations, so the block is reported
		// before the activation's own state.
		return failed(FailBlocked), nil
	case st.ExpiresAt != nil && !st.ExpiresAt.After(now):
		return failed(FailExpired), nil
	case !st.IsActive:
		return failed(FailDeactivated), nil
	case set.VerifyLicenseIP && !sameOptional(st.IP, req.Caller.IP):
		return failed(FailVerifyInvalid), nil
	}
	s.recorder.Record(st.ID, now, req.Caller.IP)
	return nil, nil
}

// stateLoader reads an activation's state: from the database in a
// transaction, or through the node's cache for verify.
type stateLoader func(ctx context.Context, id int64) (*activationState, error)

// tokenActivation applies the token steps verify and deactivate share
// (§4.4 steps 3–6): token for this product, activation of this product and
// not a failed attempt, same client name when one is sent, same host.
func (s *Service) tokenActivation(ctx context.Context, load stateLoader, p *catalog.Product, activationID int64, tokenRef, clientName string, caller Caller) (*activationState, *Failure, error) {
	if !strings.EqualFold(tokenRef, p.ReferenceID) {
		return nil, failed(FailVerifyInvalid), nil
	}
	st, err := load(ctx, activationID)
	if err != nil {
		return nil, nil, err
	}
	if st == nil || st.ProductID != p.ID || !st.IsValid {
		return nil, failed(FailVerifyInvalid), nil
	}
	if name := strings.TrimSpace(clientName); name != "" && (st.ClientName == nil || !strings.EqualFold(name, strings.TrimSpace(*st.ClientName))) {
		return nil, failed(FailVerifyInvalid), nil
	}
	if !sameOptional(st.Domain, caller.Host) {
		return nil, failed(FailVerifyInvalid), nil
	}
	return st, nil, nil
}

// VerifyCode checks a license code from the caller's host (§4.4 code path).
// A nil Failure means verified.
func (s *Service) VerifyCode(ctx context.Context, idb bun.IDB, set *settings.Values, req VerifyCodeRequest) (*Failure, error) {
	l, f, err := codeLicense(ctx, idb, req.Product, req.LicenseCode, req.ClientName)
	if err != nil || f != nil {
		return f, err
	}
	now := s.now()
	if !l.IsValid {
		return failed(FailBlocked), nil
	}
	if l.Expired(now) {
		return failed(FailExpired), nil
	}
	matches, err := hostActivations(ctx, idb, l.ID, req.Product.ID, req.ClientName, req.Caller.Host, false)
	if err != nil {
		return nil, err
	}
	var active []*Activation
	for _, a := range matches {
		if a.IsActive {
			active = append(active, a)
		}
	}
	switch {
	case len(active) == 0 && len(matches) > 0:
		return failed(FailDeactivated), nil
	case len(active) == 0:
		return failed(FailVerifyInvalid), nil
	}
	for _, a := range active {
		if !set.VerifyLicenseIP || sameOptional(a.IP, req.Caller.IP) {
			s.recorder.Record(a.ID, now, req.Caller.IP)
			return nil, nil
		}
	}
	return failed(FailVerifyInvalid), nil
}

// codeLicense finds the license of the code path: this product's, and,
// when a client name is sent and the license is issued to a customer, that
// customer's.
func codeLicense(ctx context.Context, idb bun.IDB, p *catalog.Product, code, clientName string) (*License, *Failure, error) {
	l := new(License)
	err := idb.NewSelect().Model(l).ColumnExpr("l.*").
		Where("l.license_code = ? AND l.product_id = ?", code, p.ID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, failed(FailVerifyInvalid), nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("license by code: %w", err)
	}
	name := strings.TrimSpace(clientName)
	if name != "" && l.CustomerID != nil && !strings.EqualFold(name, strings.TrimSpace(*l.CustomerID)) {
		return nil, failed(FailVerifyInvalid), nil
	}
	return l, nil, nil
}

// hostActivations returns the valid activations of license on the caller's
// host (both absent counts as the same host) with the sent client name,
// when one is sent. forUpdate locks them.
func hostActivations(ctx context.Context, idb bun.IDB, licenseID, productID int64, clientName, host string, forUpdate bool) ([]*Activation, error) {
	var out []*Activation
	q := idb.NewSelect().Model(&out).
		Where("a.license_id = ? AND a.product_id = ? AND a.is_valid", licenseID, productID).
		Where("a.domain IS NOT DISTINCT FROM ?", nullable(host)).
		OrderExpr("a.activated_at, a.id")
	if name := strings.TrimSpace(clientName); name != "" {
		q = q.Where("lower(a.client_name) = lower(?)", name)
	}
	if forUpdate {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("activations on host %q: %w", host, err)
	}
	return out, nil
}

// sameOptional compares a stored optional value with the caller's, where
// absent equals absent (§4.4 step 6). Hosts and IPs are stored normalised.
func sameOptional(stored *string, caller string) bool {
	if stored == nil || *stored == "" {
		return caller == ""
	}
	return strings.EqualFold(*stored, caller)
}
