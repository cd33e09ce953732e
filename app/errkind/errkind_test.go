package errkind_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/licensor/licensor/app/errkind"
)

func TestKinds(t *testing.T) {
	t.Parallel()
	errGone := errkind.New(errkind.NotFound, "widget not found")
	errTaken := errkind.New(errkind.Conflict, "name taken")
	wrapped := fmt.Errorf("load widget 7: %w", errGone)
	if !errors.Is(wrapped, errGone) || !errors.Is(wrapped, errkind.NotFound) || errors.Is(wrapped, errkind.Conflict) {
		t.Fatal("a wrapped sentinel must match itself and its kind only")
	}
	if errors.Is(wrapped, errTaken) {
		t.Fatal("two sentinels of different kinds match")
	}
	if wrapped.Error() != "load widget 7: widget not found" {
		t.Fatalf("message %q", wrapped.Error())
	}
	for err, want := range map[error]errkind.Kind{wrapped: errkind.NotFound, errTaken: errkind.Conflict, errors.New("plain"): 0, nil: 0} {
		if got := errkind.Of(err); got != want {
			t.Errorf("Of(%v) = %v, want %v", err, got, want)
		}
	}
}

func TestIgnoreNotFound(t *testing.T) {
	t.Parallel()
	errGone := errkind.New(errkind.NotFound, "widget not found")
	errTaken := errkind.New(errkind.Conflict, "name taken")
	if err := errkind.IgnoreNotFound(fmt.Errorf("load: %w", errGone)); err != nil {
		t.Fatalf("a wrapped not-found error: %v, want nil", err)
	}
	if err := errkind.IgnoreNotFound(errTaken); !errors.Is(err, errTaken) {
		t.Fatalf("a conflict: %v, want it back", err)
	}
	plain := errors.New("plain")
	if err := errkind.IgnoreNotFound(plain); err != plain {
		t.Fatalf("a plain error: %v, want it back", err)
	}
	if err := errkind.IgnoreNotFound(nil); err != nil {
		t.Fatalf("nil: %v", err)
	}
}
