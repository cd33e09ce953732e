package pipeline

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v3"
)

// TestReadHeaders: the one pass over the headers finds what a lookup of
// each name would (docs/api/authentication.md#headers): the modern name
// before its legacy alias, an empty modern value as absent, the first of
// a repeated header, names in any case; and the signer's nonce header as
// its own lookup finds it (the first, even when empty).
func TestReadHeaders(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.Get("/", func(c fiber.Ctx) error {
		hs := readHeaders(c)
		return c.SendString(hs.key.get() + "|" + hs.url.get() + "|" + hs.ip.get() + "|" + hs.lang.get() + "|" + hs.userAgent + "|" + hs.nonce)
	})
	tests := []struct {
		name    string
		headers [][2]string
		want    string
	}{
		{"none", nil, "|||||"},
		{"modern names", [][2]string{{"X-API-KEY", "k"}, {"X-API-URL", "https://a.example"}, {"X-API-IP", "192.0.2.1"}, {"X-API-LANGUAGE", "de"}, {"User-Agent", "ua"}},
			"k|https://a.example|192.0.2.1|de|ua|"},
		{"legacy aliases", [][2]string{{"LB-API-KEY", "lk"}, {"LB-URL", "https://b.example"}, {"LB-IP", "192.0.2.2"}, {"LB-LANG", "fr"}},
			"lk|https://b.example|192.0.2.2|fr||"},
		{"modern before legacy", [][2]string{{"LB-API-KEY", "lk"}, {"X-API-KEY", "k"}, {"LB-URL", "https://b.example"}, {"X-API-URL", "https://a.example"}},
			"k|https://a.example||||"},
		{"empty modern value counts as absent", [][2]string{{"X-API-KEY", ""}, {"LB-API-KEY", "lk"}}, "lk|||||"},
		{"first of a repeated header", [][2]string{{"X-API-KEY", "first"}, {"X-API-KEY", "second"}, {"LB-URL", "https://1.example"}, {"LB-URL", "https://2.example"}},
			"first|https://1.example||||"},
		{"names in any case", [][2]string{{"x-api-key", "k"}, {"lb-url", "https://b.example"}, {"X-Api-Ip", "192.0.2.3"}}, "k|https://b.example|192.0.2.3|||"},
		{"nonce in any case", [][2]string{{"x-licensor-NONCE", "n1"}}, "|||||n1"},
		{"first of two nonces", [][2]string{{"X-Licensor-Nonce", "n1"}, {"X-Licensor-Nonce", "n2"}}, "|||||n1"},
		{"empty nonce is the first", [][2]string{{"X-Licensor-Nonce", ""}, {"X-Licensor-Nonce", "n2"}}, "|||||"},
		{"look-alike names ignored", [][2]string{{"X-API-KEYS", "no"}, {"LB-URL2", "no"}, {"X-API", "no"}, {"X-Licensor-Nonces", "no"}}, "|||||"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Del("User-Agent")
		for _, h := range tt.headers {
			req.Header[h[0]] = append(req.Header[h[0]], h[1])
		}
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, body, tt.want)
		}
	}
}
