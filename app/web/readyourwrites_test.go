package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
)

// TestReadYourWrites: a change (any method but GET, HEAD, OPTIONS) and a
// GET handler that wrote (MarkWrite) open the window with the cookie; a
// GET carrying an unexpired cookie is a recent write, one without a
// cookie or with an expired one is not, and a GET that wrote nothing
// sets no cookie.
func TestReadYourWrites(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.Use(ReadYourWrites(time.Minute, false))
	answer := func(c fiber.Ctx) error {
		if RecentWrite(c) {
			return c.SendString("primary")
		}
		return c.SendString("replica")
	}
	app.Get("/page", answer)
	app.Post("/change", answer)
	app.Get("/confirm", func(c fiber.Ctx) error {
		MarkWrite(c)
		return c.SendString("confirmed")
	})
	do := func(method, path, cookie string) (string, string) {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		var set string
		for _, c := range res.Cookies() {
			if c.Name == ReadYourWritesCookie {
				set = c.Name + "=" + c.Value
			}
		}
		return string(b), set
	}
	if body, set := do(http.MethodGet, "/page", ""); body != "replica" || set != "" {
		t.Fatalf("a first GET: %s, cookie %q", body, set)
	}
	body, cookie := do(http.MethodPost, "/change", "")
	if body != "primary" || !strings.HasPrefix(cookie, ReadYourWritesCookie+"=") {
		t.Fatalf("a change: %s, cookie %q", body, cookie)
	}
	if body, _ := do(http.MethodGet, "/page", cookie); body != "primary" {
		t.Fatalf("a GET after the change reads the %s", body)
	}
	if body, _ := do(http.MethodGet, "/page", ReadYourWritesCookie+"=1000"); body != "replica" {
		t.Fatalf("a GET with an expired window reads the %s", body)
	}
	_, marked := do(http.MethodGet, "/confirm", "")
	if !strings.HasPrefix(marked, ReadYourWritesCookie+"=") {
		t.Fatal("a GET that wrote (MarkWrite) set no cookie")
	}
	if body, _ := do(http.MethodGet, "/page", marked); body != "primary" {
		t.Fatalf("a GET after a marked GET reads the %s", body)
	}
}
