package web

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"
)

// TestRequestIDs: every answer carries an ID, RequestIDOf gives the one
// the answer carries, two requests get different IDs, and an incoming ID
// is kept only when it is visible ASCII of at most maxIncomingRequestID
// bytes.
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.Use(RequestID())
	app.Get("/", func(c fiber.Ctx) error { return c.SendString(RequestIDOf(c)) })
	get := func(incoming string) (header, logged string) {
		t.Helper()
		req := httptest.NewRequest("GET", "/", nil)
		if incoming != "" {
			req.Header.Set(HeaderRequestID, incoming)
		}
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Get(HeaderRequestID), readBody(t, resp.Body)
	}

	seen := map[string]bool{}
	for range 3 {
		id, logged := get("")
		if id == "" || id != logged {
			t.Fatalf("answer's ID %q, RequestIDOf %q", id, logged)
		}
		if seen[id] {
			t.Fatalf("ID %q given twice", id)
		}
		seen[id] = true
	}
	if id, logged := get("lb-1234"); id != "lb-1234" || logged != "lb-1234" {
		t.Errorf("incoming ID: answer %q, RequestIDOf %q", id, logged)
	}
	for _, bad := range []string{strings.Repeat("a", maxIncomingRequestID+1), "caf\u00e9"} {
		if id, logged := get(bad); id == bad || id == "" || id != logged {
			t.Errorf("incoming %q: answer %q, RequestIDOf %q", bad, id, logged)
		}
	}
	if id, _ := get(strings.Repeat("a", maxIncomingRequestID)); id != strings.Repeat("a", maxIncomingRequestID) {
		t.Errorf("an ID of the largest length was replaced: %q", id)
	}
}

// TestRequestIDOfOutsideTheMiddleware: "" when RequestID did not run.
func TestRequestIDOfOutsideTheMiddleware(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.Get("/", func(c fiber.Ctx) error { return c.SendString("[" + RequestIDOf(c) + "]") })
	resp, err := app.Test(httptest.NewRequest("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp.Body); body != "[]" {
		t.Errorf("RequestIDOf without the middleware: %s", body)
	}
}
