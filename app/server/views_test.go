package server

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"
)

// The templates parse apart from New (serve parses them once it listens):
// the set parses, holds what the app cannot work without, and the app's
// Views draws from it, parsing at the first draw when nothing has yet.
func TestParseViews(t *testing.T) {
	if err := ParseViews(); err != nil {
		t.Fatalf("ParseViews: %v", err)
	}
	set, err := loadViews()
	if err != nil {
		t.Fatal(err)
	}
	var views fiber.Views = parsedViews{}
	if err := views.Load(); err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, name := range requiredTemplates {
		if strings.HasPrefix(name, "layouts/") || name == "admin/dashboard" { // the dashboard needs its figures
			continue
		}
		data := fiber.Map{"Title": "Sign in"}
		var want, got bytes.Buffer
		wantErr := set.Render(&want, name, data, "layouts/auth")
		gotErr := views.Render(&got, name, fiber.Map{"Title": "Sign in"}, "layouts/auth")
		if wantErr != nil || gotErr != nil {
			t.Errorf("%s: %v; the parsed set: %v", name, gotErr, wantErr)
		} else if got.Len() == 0 || got.String() != want.String() {
			t.Errorf("%s: drawn %q (%v), the parsed set draws %q (%v)", name, got.String(), gotErr, want.String(), wantErr)
		}
	}
	var out bytes.Buffer
	if err := views.Render(&out, "no/such/page", nil); err == nil || !strings.Contains(err.Error(), "no/such/page") {
		t.Errorf("a missing template: %v", err)
	}
}
