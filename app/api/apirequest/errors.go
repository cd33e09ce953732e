package apirequest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/licensor/licensor/app/fields"
)

// Errors is the field → messages map of a 422 answer
// (docs/api/conventions.md#error-envelope), in the order the fields failed. The
// zero value is empty and ready for Add.
type Errors struct {
	order []string
	msgs  map[string][]string
}

// Add records message for field (a field may hold several messages; the
// same message is kept once).
func (e *Errors) Add(field, message string) {
	if e.msgs == nil {
		e.msgs = map[string][]string{}
	}
	list, seen := e.msgs[field]
	if !seen {
		e.order = append(e.order, field)
	}
	for _, m := range list {
		if m == message {
			return
		}
	}
	e.msgs[field] = append(list, message)
}

// Merge adds the failures of a domain operation (*fields.Error), after the
// ones already held, so request and domain rules answer in one 422 body.
func (e *Errors) Merge(fe *fields.Error) {
	if fe == nil {
		return
	}
	for _, f := range fe.Fields() {
		e.Add(f.Field, f.Message)
	}
}

// Has reports whether field has failed a rule.
func (e *Errors) Has(field string) bool {
	_, ok := e.msgs[field]
	return ok
}

// Get returns field's messages.
func (e *Errors) Get(field string) []string {
	return append([]string(nil), e.msgs[field]...)
}

// Fields returns the failed fields in the order they failed.
func (e *Errors) Fields() []string { return append([]string(nil), e.order...) }

// Len is the number of messages, over all fields.
func (e *Errors) Len() int {
	n := 0
	for _, l := range e.msgs {
		n += len(l)
	}
	return n
}

// Message is the "message" of the 422 body: the first message, followed by
// " (and 1 more error)" or " (and N more errors)" when there are more.
func (e *Errors) Message() string {
	if len(e.order) == 0 {
		return ""
	}
	first := e.msgs[e.order[0]][0]
	switch more := e.Len() - 1; more {
	case 0:
		return first
	case 1:
		return first + " (and 1 more error)"
	default:
		return first + " (and " + strconv.Itoa(more) + " more errors)"
	}
}

// MarshalJSON writes {"<field>":["<message>", …], …} with the fields in the
// order they failed.
func (e *Errors) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range e.order {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(e.msgs[f])
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Err returns e as an error, or nil when nothing failed.
func (e *Errors) Err() error {
	if e == nil || len(e.order) == 0 {
		return nil
	}
	return e
}

func (e *Errors) Error() string {
	parts := make([]string, 0, len(e.order))
	for _, f := range e.order {
		parts = append(parts, f+": "+strings.Join(e.msgs[f], " "))
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// FromError returns the validation failures inside err, whether they come
// from a request (*Errors) or a domain operation (*fields.Error), so one
// function can turn both into a 422 answer.
func FromError(err error) (*Errors, bool) {
	var e *Errors
	if errors.As(err, &e) {
		return e, true
	}
	if fe, ok := fields.As(err); ok {
		e = &Errors{}
		e.Merge(fe)
		return e, true
	}
	return nil, false
}
