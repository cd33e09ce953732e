// Package fields holds what every domain operation shares about its input: the
// validation error (field → message, in the order the rules ran), the standard
// messages of docs/api/conventions.md#validation-messages, a few value rules,
// and Optional for partial updates. Delivery packages map *Error once: to a 422
// JSON body in the API, to inline messages on console and portal forms.
package fields

import (
	"errors"
	"strings"

	"github.com/licensor/licensor/app/errkind"
)

// FieldError is one failed rule.
type FieldError struct {
	Field   string
	Message string
}

// Error is a validation failure. Its zero value is an empty error list ready
// for Add; Err turns it into an error only when something failed.
type Error struct {
	list []FieldError
}

// New returns an Error holding one message.
func New(field, message string) *Error {
	e := &Error{}
	e.Add(field, message)
	return e
}

// Add records message for field. Only the first message of a field is kept:
// a later rule on the same field usually restates the first failure.
func (e *Error) Add(field, message string) {
	if e.Has(field) {
		return
	}
	e.list = append(e.list, FieldError{Field: field, Message: message})
}

// Has reports whether field already failed a rule, so later rules that
// depend on a well-formed value can be skipped.
func (e *Error) Has(field string) bool {
	for _, f := range e.list {
		if f.Field == field {
			return true
		}
	}
	return false
}

// Fields returns the failures in the order they were found.
func (e *Error) Fields() []FieldError { return append([]FieldError(nil), e.list...) }

// Map returns field → message.
func (e *Error) Map() map[string]string {
	m := make(map[string]string, len(e.list))
	for _, f := range e.list {
		m[f.Field] = f.Message
	}
	return m
}

// Len is the number of failed fields.
func (e *Error) Len() int { return len(e.list) }

// First is the first message, the one API error bodies lead with
// (docs/api/conventions.md#error-envelope).
func (e *Error) First() string {
	if len(e.list) == 0 {
		return ""
	}
	return e.list[0].Message
}

// Err returns e as an error, or nil when nothing failed.
func (e *Error) Err() error {
	if e == nil || len(e.list) == 0 {
		return nil
	}
	return e
}

func (e *Error) Error() string {
	parts := make([]string, len(e.list))
	for i, f := range e.list {
		parts[i] = f.Field + ": " + f.Message
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// Is makes every *Error of kind errkind.Invalid.
func (e *Error) Is(target error) bool { return target == errkind.Invalid }

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Optional is one field of a partial update: Set false means the field was
// not sent and keeps its stored value. For nullable columns T is a pointer,
// so Set with a nil Value clears the column.
type Optional[T any] struct {
	Value T
	Set   bool
}

// Some is a sent field.
func Some[T any](v T) Optional[T] { return Optional[T]{Value: v, Set: true} }
