// Package errkind holds the few kinds of domain error that delivery
// packages answer alike, whatever package raised them: a thing that does
// not exist, a change that conflicts with what is stored, input that
// breaks a rule, an action the actor may not take. Domain packages keep
// their own sentinels (catalog.ErrNotFound, …) and make them of a kind
// with New; the console and portal map kinds to pages once (web's error
// handler), the API to its answers once (app/api/pipeline), so handlers
// return domain errors as they are instead of testing each sentinel.
package errkind

import "errors"

// Kind is a class of domain error. It is an error itself, so
// errors.Is(err, errkind.NotFound) asks whether err is of the kind.
type Kind int

const (
	// NotFound: the thing asked for does not exist (or is not the
	// actor's to see).
	NotFound Kind = iota + 1
	// Conflict: the change clashes with what is stored (taken, in use,
	// already done).
	Conflict
	// Invalid: the input breaks a rule (fields.Error is of this kind).
	Invalid
	// Forbidden: the actor may not do this.
	Forbidden
)

var names = map[Kind]string{NotFound: "not found", Conflict: "conflict", Invalid: "invalid", Forbidden: "forbidden"}

func (k Kind) Error() string { return names[k] }

// New returns an error with message msg of kind k, for a domain package's
// sentinel: var ErrNotFound = errkind.New(errkind.NotFound, "product not found").
func New(k Kind, msg string) error { return &kindError{kind: k, msg: msg} }

type kindError struct {
	kind Kind
	msg  string
}

func (e *kindError) Error() string { return e.msg }

// Is makes the error match its kind as well as itself.
func (e *kindError) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.kind
}

// Of returns the kind of err (0 when it has none).
func Of(err error) Kind {
	for _, k := range []Kind{NotFound, Conflict, Invalid, Forbidden} {
		if errors.Is(err, k) {
			return k
		}
	}
	return 0
}

// IgnoreNotFound returns nil when err is of kind NotFound, else err: for a
// lookup whose "nothing there" is an ordinary outcome rather than an
// answer (is this email taken? is a product named to prefill from?), so
// the caller tests the result for nil instead of each package's sentinel.
// Lookups return a nil result with their not-found error.
func IgnoreNotFound(err error) error {
	if errors.Is(err, NotFound) {
		return nil
	}
	return err
}
