package signature_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/signature"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/web"
)

func testRing(t *testing.T) *signing.KeyRing {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := signing.NewKeyRing(signing.NewKey(priv, time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// Answers the handler did not write itself are signed too: an error
// answered by the app's error handler, a panic, a streamed file.
func TestSignsErrorsPanicsAndStreams(t *testing.T) {
	t.Parallel()
	ring := testRing(t)
	at := time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)
	s := signature.New(signature.Options{Ring: ring, Now: func() time.Time { return at }})
	app := fiber.New(fiber.Config{ErrorHandler: web.ErrorHandler()})
	var logged error
	app.Use(func(c fiber.Ctx) error {
		// As web.RequestLogger: an answered error is not answered twice.
		logged = c.Next()
		return nil
	})
	file := bytes.Repeat([]byte("0123456789"), 1000)
	sum := sha256.Sum256(file)
	app.Post("/api/error", s.Handle, func(fiber.Ctx) error { return errors.New("boom") })
	app.Post("/api/panic", s.Handle, func(fiber.Ctx) error { panic("boom") })
	app.Post("/api/empty", s.Handle, func(c fiber.Ctx) error { return c.JSON(fiber.Map{}) })
	app.Post("/api/file", s.Handle, func(c fiber.Ctx) error {
		signature.SetDigest(c, hex.EncodeToString(sum[:]))
		return c.SendStream(bytes.NewReader(file), len(file))
	})

	for _, c := range []struct {
		path, nonce string
		status      int
		body        string
	}{
		{"/api/error", "", 500, `{"status":false,"is_active":false,"message":"Something went wrong. Please try again later."}`},
		{"/api/panic", "n1", 500, `{"status":false,"is_active":false,"message":"Something went wrong. Please try again later.","nonce":"n1"}`},
		{"/api/empty", "n2", 200, `{"nonce":"n2"}`},
		{"/api/file", "n3", 200, string(file)},
	} {
		req := httptest.NewRequest("POST", "http://licensor.test"+c.path, nil)
		if c.nonce != "" {
			req.Header.Set(signature.NonceHeader, c.nonce)
		}
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != c.status || string(body) != c.body {
			t.Fatalf("%s: %d %s", c.path, res.StatusCode, body)
		}
		date, err := signing.VerifyResponse(signing.SignedResponse{Method: "POST", Path: c.path, Host: "licensor.test",
			Signature: res.Header.Get(signing.ResponseSignatureHeader), Digest: res.Header.Get(signing.DigestHeader), Body: body}, ring.PublicKey)
		if err != nil || !date.Equal(at) {
			t.Fatalf("%s: %v, date %v; headers %v", c.path, err, date, res.Header)
		}
		if c.path == "/api/error" && (logged == nil || logged.Error() != "boom") {
			t.Fatalf("the request log would not see the error: %v", logged)
		}
	}
}

// The signature of an answer repeated within a second is made once: the
// same header value comes back, and it is the one a fresh signature gives.
func TestSignaturesAreReusedWithinTheSecond(t *testing.T) {
	t.Parallel()
	ring := testRing(t)
	now := time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)
	s := signature.New(signature.Options{Ring: ring, Now: func() time.Time { return now }})
	app := fiber.New()
	app.Post("/v", s.Handle, func(c fiber.Ctx) error { return c.JSON(fiber.Map{"status": true}) })
	get := func() string {
		res, err := app.Test(httptest.NewRequest("POST", "http://licensor.test/v", nil))
		if err != nil {
			t.Fatal(err)
		}
		return res.Header.Get(signing.ResponseSignatureHeader)
	}
	first := get()
	if second := get(); second != first || first == "" {
		t.Fatalf("%q then %q", first, second)
	}
	now = now.Add(time.Second)
	if next := get(); next == first || signing.ParseSignatureParams(next)["date"] != "Fri, 02 Jan 2099 03:04:06 GMT" {
		t.Fatalf("next second: %q", next)
	}
}

// Within a second the Digest of the first answer is kept for the answers
// that repeat its body; every other body, before or after it, still gets
// its own.
func TestDigestsWithinTheSecondMatchTheirBodies(t *testing.T) {
	t.Parallel()
	ring := testRing(t)
	now := time.Now()
	s := signature.New(signature.Options{Ring: ring, Now: func() time.Time { return now }})
	app := fiber.New()
	app.Post("/v", s.Handle, func(c fiber.Ctx) error { return c.JSON(fiber.Map{"status": true, "message": c.Query("m")}) })
	for i, m := range []string{"a", "b", "a", "b", "a", "c"} {
		req := httptest.NewRequest("POST", "http://licensor.test/v?m="+m, nil)
		if i == 0 {
			req.Header.Set(signature.NonceHeader, "first")
		}
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if _, err := signing.VerifyResponse(signing.SignedResponse{Method: "POST", Path: "/v", Host: "licensor.test",
			Signature: res.Header.Get(signing.ResponseSignatureHeader), Digest: res.Header.Get(signing.DigestHeader), Body: body}, ring.PublicKey); err != nil {
			t.Fatalf("answer %d (%s): %v; digest %q", i, body, err, res.Header.Get(signing.DigestHeader))
		}
	}
}
