package web

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v3"
)

// TestRequestLoggerMasksOnlyWhatItShows: a secret path segment is masked
// in the request line, in the error text repeating the path, in LogPath
// (a handler's refusal) and in a panic's log line, while the mask runs
// only for those: a request whose line the logger's level drops and that
// no one asks LogPath of masks nothing.
func TestRequestLoggerMasksOnlyWhatItShows(t *testing.T) {
	t.Parallel()
	const secret = "s3cretTokenValue"
	var masked atomic.Int64
	mask := SecretPaths("/reset/{secret}")
	counting := func(p string) string { masked.Add(1); return mask(p) }
	var out bytes.Buffer // requests run one at a time
	level := new(slog.LevelVar)
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: level}))

	app := fiber.New()
	app.Use(RequestLogger(app, logger, counting), Recover(logger))
	var seen string
	app.Get("/reset/:token", func(c fiber.Ctx) error {
		switch c.Query("do") {
		case "logpath":
			seen = LogPath(c)
		case "panic":
			panic("boom")
		}
		return c.SendString("ok")
	})
	get := func(path string) {
		t.Helper()
		resp, err := app.Test(httptest.NewRequest("GET", path, nil))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}

	level.Set(slog.LevelWarn)
	get("/reset/" + secret)
	get("/other/" + secret)
	if n := masked.Load(); n != 0 || out.Len() != 0 {
		t.Fatalf("unlogged requests: mask ran %d times, log %q", n, out.String())
	}
	get("/reset/" + secret + "?do=logpath")
	if seen != "/reset/"+Masked || masked.Load() != 1 {
		t.Fatalf("LogPath %q after %d masks, want /reset/%s after 1", seen, masked.Load(), Masked)
	}
	get("/reset/" + secret + "?do=panic") // a 500 is logged at error
	level.Set(slog.LevelInfo)
	get("/reset/" + secret)
	app.Post("/nothing", func(c fiber.Ctx) error { return nil })
	resp, err := app.Test(httptest.NewRequest("PUT", "/reset/"+secret, nil)) // Fiber's 405 text repeats the path
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()

	log := out.String()
	if strings.Contains(log, secret) {
		t.Fatalf("a secret reached the log:\n%s", log)
	}
	for _, want := range []string{
		`msg="panic in handler" panic=boom`, "path=/reset/" + Masked + " stack=",
		"level=ERROR msg=\"http request\" method=GET path=/reset/" + Masked + " status=500",
		"level=INFO msg=\"http request\" method=GET path=/reset/" + Masked + " status=200",
		"method=PUT path=/reset/" + Masked + " status=",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("no %q in the log:\n%s", want, log)
		}
	}
}

// TestLogPathWithoutRequestLogger: an app without RequestLogger shows the
// path as it is.
func TestLogPathWithoutRequestLogger(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.Get("/reset/:token", func(c fiber.Ctx) error { return c.SendString(LogPath(c)) })
	resp, err := app.Test(httptest.NewRequest("GET", "/reset/abc", nil))
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp.Body); body != "/reset/abc" {
		t.Fatalf("LogPath %q, want /reset/abc", body)
	}
}
