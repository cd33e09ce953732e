// Package twofactor owns two-factor sign-in with TOTP (RFC 6238) for
// admins and customers (tables two_factor and two_factor_recovery_codes):
// enrolment (a secret sealed with the instance secret, shown as a QR code
// drawn as SVG and as text, confirmed by a first code), checking codes
// (±1 time step, each step accepted once), ten single-use recovery codes,
// and turning it off.
package twofactor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/signing"
)

// Account is whose second factor it is.
type Account struct {
	Admin bool // else a customer
	ID    int64
}

// AdminAccount and CustomerAccount name an account.
func AdminAccount(id int64) Account    { return Account{Admin: true, ID: id} }
func CustomerAccount(id int64) Account { return Account{ID: id} }

func (a Account) column() string {
	if a.Admin {
		return "admin_id"
	}
	return "customer_id"
}

// ad binds a sealed secret to its account, so a value copied onto another
// row does not open.
func (a Account) ad() string { return "two_factor:" + a.column() + ":" + strconv.FormatInt(a.ID, 10) }

// TOTP parameters: what every authenticator app supports.
const (
	period         = 30
	digits         = otp.DigitsSix
	skew           = 1 // steps either side of now
	recoveryCodes  = 10
	sealPurpose    = "licensor two-factor secrets v1"
	secretSize     = 20 // bytes: 160 bits, RFC 4226's recommendation
	recoveryLength = 10 // hex characters, shown as two groups of five
)

var (
	// ErrInvalidCode is returned for a wrong, reused or malformed code.
	ErrInvalidCode = errors.New("the code is not valid")
	// ErrNotEnrolled is returned when the account has no (confirmed or
	// pending) second factor.
	ErrNotEnrolled = errors.New("two-factor sign-in is not set up")
	// ErrAlreadyEnabled is returned by Begin when it is on already.
	ErrAlreadyEnabled = errors.New("two-factor sign-in is already on")
)

// Service checks and changes second factors; it holds the instance secret
// that seals them and the clock codes are checked against.
type Service struct {
	secret []byte
	now    func() time.Time
}

// New returns a Service; now nil means time.Now.
func New(instanceSecret []byte, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{secret: instanceSecret, now: now}
}

type row struct {
	bun.BaseModel `bun:"table:two_factor,alias:tf"`

	ID          int64      `bun:"id,pk,autoincrement"`
	AdminID     *int64     `bun:"admin_id"`
	CustomerID  *int64     `bun:"customer_id"`
	Secret      []byte     `bun:"secret"`
	ConfirmedAt *time.Time `bun:"confirmed_at"`
	LastStep    int64      `bun:"last_step"`
	CreatedAt   time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

type recoveryRow struct {
	bun.BaseModel `bun:"table:two_factor_recovery_codes,alias:rc"`

	ID          int64      `bun:"id,pk,autoincrement"`
	TwoFactorID int64      `bun:"two_factor_id"`
	CodeHash    []byte     `bun:"code_hash"`
	UsedAt      *time.Time `bun:"used_at"`
}

func (s *Service) load(ctx context.Context, idb bun.IDB, a Account, lock bool) (*row, error) {
	r := new(row)
	q := idb.NewSelect().Model(r).Where("? = ?", bun.Ident(a.column()), a.ID)
	if lock {
		q = q.For("UPDATE")
	}
	err := q.Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotEnrolled
	}
	if err != nil {
		return nil, fmt.Errorf("two-factor: load: %w", err)
	}
	return r, nil
}

// Enabled reports whether the account has confirmed two-factor sign-in.
func (s *Service) Enabled(ctx context.Context, idb bun.IDB, a Account) (bool, error) {
	ok, err := idb.NewSelect().Model((*row)(nil)).Where("? = ? AND confirmed_at IS NOT NULL", bun.Ident(a.column()), a.ID).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("two-factor: status: %w", err)
	}
	return ok, nil
}

// Enrolment is what a person needs to add the account to an
// authenticator app: the otpauth:// URI (the QR code's content) and the
// secret in base32 to type instead.
type Enrolment struct {
	URI    string
	Secret string
}

// Begin starts (or restarts) an enrolment: a new secret, stored sealed
// and unconfirmed until Confirm. issuer names the service in the app
// (the app name), label the account (its email).
func (s *Service) Begin(ctx context.Context, idb bun.IDB, a Account, issuer, label string) (*Enrolment, error) {
	if on, err := s.Enabled(ctx, idb, a); err != nil {
		return nil, err
	} else if on {
		return nil, ErrAlreadyEnabled
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: label, Period: period, SecretSize: secretSize, Digits: digits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, fmt.Errorf("two-factor: new secret: %w", err)
	}
	sealed, err := signing.Seal(s.secret, sealPurpose, a.ad(), []byte(key.Secret()), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("two-factor: seal: %w", err)
	}
	r := &row{Secret: sealed}
	id := a.ID
	if a.Admin {
		r.AdminID = &id
	} else {
		r.CustomerID = &id
	}
	_, err = idb.NewInsert().Model(r).
		On("CONFLICT (?) DO UPDATE", bun.Ident(a.column())).
		Set("secret = EXCLUDED.secret, confirmed_at = NULL, last_step = 0, created_at = now()").
		Where("tf.confirmed_at IS NULL").
		Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("two-factor: begin: %w", err)
	}
	return &Enrolment{URI: keyURI(issuer, label, key.Secret()), Secret: key.Secret()}, nil
}

// Pending returns the enrolment Begin started and not yet confirmed (the
// set-up page drawn again), or ErrNotEnrolled.
func (s *Service) Pending(ctx context.Context, idb bun.IDB, a Account, issuer, label string) (*Enrolment, error) {
	r, err := s.load(ctx, idb, a, false)
	if err != nil {
		return nil, err
	}
	if r.ConfirmedAt != nil {
		return nil, ErrAlreadyEnabled
	}
	secret, err := s.open(a, r)
	if err != nil {
		return nil, err
	}
	return &Enrolment{URI: keyURI(issuer, label, secret), Secret: secret}, nil
}

// keyURI is the otpauth:// URI authenticator apps read from the QR code
// (the Key Uri Format of Google Authenticator, which the others follow).
func keyURI(issuer, label, secret string) string {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", strconv.Itoa(digits.Length()))
	v.Set("period", strconv.Itoa(period))
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + label, RawQuery: v.Encode()}
	return u.String()
}

func (s *Service) open(a Account, r *row) (string, error) {
	plain, err := signing.Open(s.secret, sealPurpose, a.ad(), r.Secret)
	if err != nil {
		return "", fmt.Errorf("two-factor: open secret: %w", err)
	}
	return string(plain), nil
}

// Confirm checks the first code of a pending enrolment and turns two-factor
// sign-in on. It returns the ten recovery codes, to be shown once.
func (s *Service) Confirm(ctx context.Context, idb bun.IDB, a Account, code string) ([]string, error) {
	var codes []string
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.load(ctx, tx, a, true)
		if err != nil {
			return err
		}
		if r.ConfirmedAt != nil {
			return ErrAlreadyEnabled
		}
		if err := s.checkTOTP(ctx, tx, a, r, code); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(r).Set("confirmed_at = now()").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("two-factor: confirm: %w", err)
		}
		codes, err = s.replaceRecoveryCodes(ctx, tx, r.ID)
		return err
	})
	return codes, err
}

// Verify checks a sign-in code: a TOTP code of the confirmed secret (each
// time step accepted once, so a code seen by someone else is worthless
// after its use), or an unused recovery code, which is then used up.
func (s *Service) Verify(ctx context.Context, idb bun.IDB, a Account, code string) error {
	return idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.load(ctx, tx, a, true)
		if err != nil {
			return err
		}
		if r.ConfirmedAt == nil {
			return ErrNotEnrolled
		}
		if isTOTPCode(code) {
			return s.checkTOTP(ctx, tx, a, r, code)
		}
		return s.useRecoveryCode(ctx, tx, r.ID, code)
	})
}

func isTOTPCode(code string) bool {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != digits.Length() {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// checkTOTP accepts code when it is the code of a step within skew of now
// that is later than the last step accepted, and records that step.
func (s *Service) checkTOTP(ctx context.Context, tx bun.IDB, a Account, r *row, code string) error {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if !isTOTPCode(code) {
		return ErrInvalidCode
	}
	secret, err := s.open(a, r)
	if err != nil {
		return err
	}
	now := s.now().Unix() / period
	matched := int64(-1)
	for step := now - skew; step <= now+skew; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*period, 0), totp.ValidateOpts{Period: period, Digits: digits, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return fmt.Errorf("two-factor: code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched = step
		}
	}
	if matched < 0 || matched <= r.LastStep {
		return ErrInvalidCode
	}
	res, err := tx.NewUpdate().Model(r).Set("last_step = ?", matched).WherePK().Where("last_step < ?", matched).Exec(ctx)
	if err != nil {
		return fmt.Errorf("two-factor: record step: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrInvalidCode
	}
	return nil
}

func (s *Service) useRecoveryCode(ctx context.Context, tx bun.IDB, id int64, code string) error {
	norm := normalizeRecovery(code)
	if len(norm) != recoveryLength {
		return ErrInvalidCode
	}
	res, err := tx.NewUpdate().Model((*recoveryRow)(nil)).Set("used_at = now()").
		Where("two_factor_id = ? AND code_hash = ? AND used_at IS NULL", id, hashCode(norm)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("two-factor: use recovery code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrInvalidCode
	}
	return nil
}

// NewRecoveryCodes replaces the account's recovery codes with ten new ones
// (the old ones stop working) and returns them, to be shown once.
func (s *Service) NewRecoveryCodes(ctx context.Context, idb bun.IDB, a Account) ([]string, error) {
	var codes []string
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.load(ctx, tx, a, true)
		if err != nil {
			return err
		}
		if r.ConfirmedAt == nil {
			return ErrNotEnrolled
		}
		codes, err = s.replaceRecoveryCodes(ctx, tx, r.ID)
		return err
	})
	return codes, err
}

// RecoveryCodesLeft counts the account's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, idb bun.IDB, a Account) (int, error) {
	n, err := idb.NewSelect().Model((*recoveryRow)(nil)).
		Join("JOIN two_factor AS tf ON tf.id = rc.two_factor_id").
		Where("tf.? = ? AND rc.used_at IS NULL", bun.Ident(a.column()), a.ID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("two-factor: count recovery codes: %w", err)
	}
	return int(n), nil
}

func (s *Service) replaceRecoveryCodes(ctx context.Context, tx bun.IDB, id int64) ([]string, error) {
	if _, err := tx.NewDelete().Model((*recoveryRow)(nil)).Where("two_factor_id = ?", id).Exec(ctx); err != nil {
		return nil, fmt.Errorf("two-factor: drop recovery codes: %w", err)
	}
	codes := make([]string, recoveryCodes)
	rows := make([]recoveryRow, recoveryCodes)
	for i := range codes {
		raw := make([]byte, recoveryLength/2)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		h := hex.EncodeToString(raw)
		codes[i] = h[:5] + "-" + h[5:]
		rows[i] = recoveryRow{TwoFactorID: id, CodeHash: hashCode(h)}
	}
	if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return nil, fmt.Errorf("two-factor: store recovery codes: %w", err)
	}
	return codes, nil
}

// Disable turns two-factor sign-in off (or drops a pending enrolment):
// the secret and the recovery codes are deleted. It reports whether there
// was anything to delete.
func (s *Service) Disable(ctx context.Context, idb bun.IDB, a Account) (bool, error) {
	res, err := idb.NewDelete().Model((*row)(nil)).Where("? = ?", bun.Ident(a.column()), a.ID).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("two-factor: disable: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func normalizeRecovery(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'f':
			return r
		case r >= 'A' && r <= 'F':
			return r + ('a' - 'A')
		}
		return -1
	}, code)
}

func hashCode(code string) []byte {
	sum := sha256.Sum256([]byte(code))
	return sum[:]
}
