package internalapi

import (
	"time"

	"github.com/licensor/licensor/app/api/apirequest"
	"github.com/licensor/licensor/app/fields"
)

// Partial-update readers (docs/api/internal.md): a field not sent is not Set and keeps
// its value; a field sent as null or "" is Set to nil and clears it; a
// field with a value is read by its getter, whose failure is recorded in f
// (the handler answers 422 before the value is used).

func optString(f *apirequest.Fields, name string, rs ...apirequest.Rule) fields.Optional[string] {
	if !f.Sent(name) {
		return fields.Optional[string]{}
	}
	s, _ := f.String(name, rs...)
	return fields.Some(s)
}

func optText(f *apirequest.Fields, name string) fields.Optional[*string] {
	if !f.Sent(name) {
		return fields.Optional[*string]{}
	}
	if !f.Has(name) {
		return fields.Some[*string](nil)
	}
	s, ok := f.String(name)
	if !ok {
		return fields.Optional[*string]{}
	}
	return fields.Some(&s)
}

func optInt(f *apirequest.Fields, name string) fields.Optional[*int] {
	if !f.Sent(name) {
		return fields.Optional[*int]{}
	}
	if !f.Has(name) {
		return fields.Some[*int](nil)
	}
	n, ok := f.Int(name)
	if !ok {
		return fields.Optional[*int]{}
	}
	return fields.Some(&n)
}

// optBool reads a flag. Flags are not nullable: null or "" leaves them as
// they are.
func optBool(f *apirequest.Fields, name string) fields.Optional[bool] {
	if !f.Has(name) {
		return fields.Optional[bool]{}
	}
	b, ok := f.Bool(name)
	if !ok {
		return fields.Optional[bool]{}
	}
	return fields.Some(b)
}

func optDate(f *apirequest.Fields, name string, loc *time.Location) fields.Optional[*time.Time] {
	if !f.Sent(name) {
		return fields.Optional[*time.Time]{}
	}
	if !f.Has(name) {
		return fields.Some[*time.Time](nil)
	}
	t, ok := f.Date(name, loc)
	if !ok {
		return fields.Optional[*time.Time]{}
	}
	return fields.Some(&t)
}

// optList reads a list; sent empty, it clears the list.
func optList(f *apirequest.Fields, name string) fields.Optional[[]string] {
	if !f.Sent(name) {
		return fields.Optional[[]string]{}
	}
	if !f.Has(name) {
		return fields.Some([]string{})
	}
	failures := f.Errors().Len()
	l, ok := f.List(name)
	switch {
	case ok:
		return fields.Some(l)
	case f.Errors().Len() == failures:
		// Only empty items: an empty list.
		return fields.Some([]string{})
	}
	return fields.Optional[[]string]{}
}

// optFilterBool reads a boolean list filter: absent or empty does not
// filter; a value that is no boolean fails like any field.
func optFilterBool(f *apirequest.Fields, name string) *bool {
	if !f.Has(name) {
		return nil
	}
	b, ok := f.Bool(name)
	if !ok {
		return nil
	}
	return &b
}
