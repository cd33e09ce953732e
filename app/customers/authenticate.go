package customers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/passwords"
	"github.com/licensor/licensor/app/ratelimit"
	"github.com/licensor/licensor/app/settings"
)

// dummyHash is checked against when the login matches no account or one
// without a password, so such a sign-in costs the same argon2id work as a
// wrong password and response times do not reveal which accounts exist.
// It hashes a random string nobody knows, with the production parameters
// (a test keeps them in step).
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$A1gJC+k8KTyh4o7HvloVoA$RGXgagmpgYHaD2zrfNqkOUgxzaC0PJgGVAKvQasnXug"

// newDeviceWindow: a sign-in from a device and network not seen for this
// long sends the new-device alert (docs/features.md#security).
const newDeviceWindow = 90 * 24 * time.Hour

var (
	// ErrInvalidCredentials is the one answer to an unknown login, an
	// account without a password and a wrong password alike.
	ErrInvalidCredentials = errors.New("these credentials do not match our records")
	// ErrUnconfirmed is returned, with the customer, for the right password
	// of an account whose email is not confirmed: only someone who knows
	// the password learns that.
	ErrUnconfirmed = errors.New("the email address is not confirmed")
	// ErrSecondFactor is returned, with the customer, for the right
	// password of an account with two-factor sign-in: the sign-in finishes
	// with CompleteSignIn once the code is right.
	ErrSecondFactor = errors.New("a second factor is needed")
)

// LockedOutError refuses a sign-in while the account or the client IP is
// over its limit of attempts; Wait is how long until the window ends.
type LockedOutError struct{ Wait time.Duration }

func (e *LockedOutError) Error() string {
	return fmt.Sprintf("too many sign-in attempts: try again in %s", e.Wait)
}

// SignIn is one attempt to sign in to the portal.
type SignIn struct {
	// Login is an email or a client ID, as typed.
	Login    string
	Password string
	// IP and UserAgent are the client's, for the limits, the history and
	// the new-device alert.
	IP, UserAgent string
	// Limiter counts the attempts (shared by every node).
	Limiter *ratelimit.Limiter
	// Logger receives the failures of the steps that must not fail a
	// sign-in: the history row, clearing the account's failures, the
	// new-device alert, upgrading the password hash.
	Logger *slog.Logger
	// SecondFactor reports whether the customer must also give a code
	// (two-factor sign-in is on); nil: never.
	SecondFactor func(ctx context.Context, idb bun.IDB, cu *Customer) (bool, error)
}

// Authenticate signs a customer in to the portal (docs/features.md#security).
// Every attempt counts against the client IP and the account (or, for an
// unknown login, the login typed, so the lockout answers alike) before the
// password is looked at, so parallel guesses cannot slip past the limit:
// over login_max_attempts in login_lockout_minutes it returns a
// *LockedOutError, on every node. An unknown login and a wrong password
// both return ErrInvalidCredentials after the same argon2id work. The right
// password of an unconfirmed account returns the customer and
// ErrUnconfirmed. On success the account's failures are forgotten, the
// NewDevice hook runs when the device and network were not seen in 90 days
// (and new_device_alerts is on), a hash made with older parameters is
// replaced, and the sign-in is recorded. Every attempt goes to the sign-in
// history. Other errors are infrastructure failures.
func (s *Service) Authenticate(ctx context.Context, idb bun.IDB, set *settings.Values, in SignIn) (*Customer, error) {
	in.Login = strings.TrimSpace(in.Login)
	if in.Logger == nil {
		in.Logger = slog.New(slog.DiscardHandler)
	}
	attempt := Login{Login: in.Login, IP: in.IP, UserAgent: in.UserAgent}
	var cu *Customer
	if in.Login != "" {
		var err error
		cu, err = ByLogin(ctx, idb, in.Login)
		if errors.Is(err, ErrNotFound) {
			cu = nil
		} else if err != nil {
			return nil, fmt.Errorf("portal sign-in: %w", err)
		}
	}
	if cu != nil {
		attempt.CustomerID = &cu.ID
	}

	wait, err := throttle(ctx, in.Limiter, set, accountBucket(cu, in.Login), in.IP)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		attempt.Reason = ReasonLockedOut
		s.record(ctx, idb, in.Logger, attempt)
		return nil, &LockedOutError{Wait: wait}
	}

	hash := dummyHash
	if cu != nil && cu.HasPassword() {
		hash = *cu.PasswordHash
	}
	ok, err := passwords.Verify(hash, in.Password)
	if err != nil || !ok || cu == nil || !cu.HasPassword() {
		attempt.Reason = ReasonInvalidCredentials
		s.record(ctx, idb, in.Logger, attempt)
		return nil, ErrInvalidCredentials
	}
	if !cu.Confirmed() {
		attempt.Reason = ReasonUnconfirmed
		s.record(ctx, idb, in.Logger, attempt)
		return cu, ErrUnconfirmed
	}

	if passwords.NeedsRehash(*cu.PasswordHash) {
		if err := upgradeHash(ctx, idb, cu, in.Password); err != nil {
			in.Logger.WarnContext(ctx, "upgrade customer password hash", "customer", cu.ID, "error", err)
		}
	}
	if in.SecondFactor != nil {
		need, err := in.SecondFactor(ctx, idb, cu)
		if err != nil {
			return nil, fmt.Errorf("portal sign-in: %w", err)
		}
		if need {
			// Not signed in yet: the failures stay counted, so the code's
			// guesses share the account's limit with the password's.
			return cu, ErrSecondFactor
		}
	}
	s.succeed(ctx, idb, set, cu, attempt, in)
	return cu, nil
}

// succeed finishes a sign-in: the account's failures are forgotten, the
// new-device alert goes out when due, the sign-in is recorded.
func (s *Service) succeed(ctx context.Context, idb bun.IDB, set *settings.Values, cu *Customer, attempt Login, in SignIn) {
	if err := in.Limiter.Reset(ctx, accountBucket(cu, in.Login)); err != nil {
		in.Logger.WarnContext(ctx, "clear customer sign-in failures", "error", err)
	}
	s.alertNewDevice(ctx, idb, set, cu, attempt, in.Logger)
	attempt.Success, attempt.Reason = true, ""
	s.record(ctx, idb, in.Logger, attempt)
}

// CompleteSignIn checks the second factor of cu, whose password was right
// (Authenticate returned ErrSecondFactor): each attempt counts in the same
// limits as a password (*LockedOutError past them), check says whether the
// code is right (ErrInvalidCredentials when not, recorded as
// ReasonTwoFactor), and a right one finishes the sign-in as Authenticate
// does.
func (s *Service) CompleteSignIn(ctx context.Context, idb bun.IDB, set *settings.Values, cu *Customer, in SignIn, check func() (bool, error)) error {
	if in.Logger == nil {
		in.Logger = slog.New(slog.DiscardHandler)
	}
	attempt := Login{CustomerID: &cu.ID, Login: cu.Email, IP: in.IP, UserAgent: in.UserAgent}
	wait, err := throttle(ctx, in.Limiter, set, accountBucket(cu, ""), in.IP)
	if err != nil {
		return err
	}
	if wait > 0 {
		attempt.Reason = ReasonLockedOut
		s.record(ctx, idb, in.Logger, attempt)
		return &LockedOutError{Wait: wait}
	}
	ok, err := check()
	if err != nil {
		return fmt.Errorf("portal sign-in: %w", err)
	}
	if !ok {
		attempt.Reason = ReasonTwoFactor
		s.record(ctx, idb, in.Logger, attempt)
		return ErrInvalidCredentials
	}
	s.succeed(ctx, idb, set, cu, attempt, in)
	return nil
}

// RefuseSignIn records an attempt the portal refused before the password
// was looked at (reason: ReasonCaptcha), so guesses without a solved
// CAPTCHA are in the history too.
func (s *Service) RefuseSignIn(ctx context.Context, idb bun.IDB, in SignIn, reason string) {
	attempt := Login{Login: strings.TrimSpace(in.Login), IP: in.IP, UserAgent: in.UserAgent, Reason: reason}
	if cu, err := ByLogin(ctx, idb, attempt.Login); err == nil {
		attempt.CustomerID = &cu.ID
	}
	if in.Logger == nil {
		in.Logger = slog.New(slog.DiscardHandler)
	}
	s.record(ctx, idb, in.Logger, attempt)
}

// ConfirmPassword checks the current password a signed-in customer types
// to change their account (in.Password). Each guess counts in the sign-in
// limits (the account's and the client IP's), so a stolen session cannot
// be used to find the password: it returns a *LockedOutError when over
// them, ErrInvalidCredentials for a wrong password (or an account without
// one, after the same work), and nil for the right one, which clears the
// account's count as a sign-in does.
func ConfirmPassword(ctx context.Context, idb bun.IDB, set *settings.Values, cu *Customer, in SignIn) error {
	if in.Logger == nil {
		in.Logger = slog.New(slog.DiscardHandler)
	}
	bucket := accountBucket(cu, "")
	wait, err := throttle(ctx, in.Limiter, set, bucket, in.IP)
	if err != nil {
		return err
	}
	if wait > 0 {
		return &LockedOutError{Wait: wait}
	}
	hash := dummyHash
	if cu.HasPassword() {
		hash = *cu.PasswordHash
	}
	if ok, err := passwords.Verify(hash, in.Password); err != nil || !ok || !cu.HasPassword() {
		return ErrInvalidCredentials
	}
	if err := in.Limiter.Reset(ctx, bucket); err != nil {
		in.Logger.WarnContext(ctx, "clear customer sign-in failures", "error", err)
	}
	return nil
}

// throttle counts the attempt against account and the client IP and
// returns how long to wait when either is over its limit (0 otherwise).
// An IP address gets four times an account's attempts (at least 20), so
// one office behind NAT is not locked out by one user.
func throttle(ctx context.Context, limiter *ratelimit.Limiter, set *settings.Values, account, ip string) (time.Duration, error) {
	window := time.Duration(set.LoginLockoutMinutes) * time.Minute
	var wait time.Duration
	check := func(bucket string, limit int) error {
		r, err := limiter.Hit(ctx, bucket, limit, window)
		if err != nil {
			return fmt.Errorf("portal sign-in: %w", err)
		}
		if !r.Allowed {
			wait = max(wait, r.RetryAfter)
		}
		return nil
	}
	if err := check(account, set.LoginMaxAttempts); err != nil {
		return 0, err
	}
	if err := check("customer-login:ip:"+ip, max(20, 4*set.LoginMaxAttempts)); err != nil {
		return 0, err
	}
	return wait, nil
}

// accountBucket keys the per-account counter: the customer when the login
// matched one (so email and client ID share it), else the login typed.
func accountBucket(cu *Customer, login string) string {
	if cu != nil {
		return "customer-login:account:" + strconv.FormatInt(cu.ID, 10)
	}
	if len(login) > maxLoginLength {
		login = login[:maxLoginLength]
	}
	return "customer-login:login:" + strings.ToLower(login)
}

// alertNewDevice runs the NewDevice hook when cu signed in before but not
// from this IP address and browser in the last 90 days.
func (s *Service) alertNewDevice(ctx context.Context, idb bun.IDB, set *settings.Values, cu *Customer, l Login, logger *slog.Logger) {
	if !set.NewDeviceAlerts || cu.LastLoginAt == nil || s.hooks.NewDevice == nil {
		return
	}
	now := s.now()
	seen, err := SeenDevice(ctx, idb, cu.ID, l.IP, l.UserAgent, now.Add(-newDeviceWindow))
	if err == nil && !seen {
		err = s.hooks.NewDevice(ctx, idb, set, cu, l.IP, l.UserAgent, now)
	}
	if err != nil {
		logger.ErrorContext(ctx, "new-device alert", "error", err)
	}
}

// upgradeHash stores a hash of password with the current parameters,
// unless the password changed meanwhile. It is no password change: the
// customer's other sessions go on.
func upgradeHash(ctx context.Context, idb bun.IDB, cu *Customer, password string) error {
	hash, err := passwords.Hash(password)
	if err != nil {
		return err
	}
	res, err := idb.NewUpdate().Model((*Customer)(nil)).
		Set("password_hash = ?", hash).Set("updated_at = now()").
		Where("id = ? AND password_hash = ?", cu.ID, *cu.PasswordHash).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		cu.PasswordHash = &hash
	}
	return nil
}

// record writes the attempt to the sign-in history; a failure is logged
// only, so it cannot turn a sign-in into an error page.
func (s *Service) record(ctx context.Context, idb bun.IDB, logger *slog.Logger, l Login) {
	if err := RecordLogin(ctx, idb, l); err != nil {
		logger.ErrorContext(ctx, "record customer sign-in", "error", err)
	}
}
