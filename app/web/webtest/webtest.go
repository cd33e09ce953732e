// Package webtest is an HTTP client for tests that drives a Fiber app
// in-process (through app.Test) with a cookie jar, CSRF handling and
// optional redirect following, so tests exercise the real router and
// middleware without a network listener.
package webtest

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
)

// BaseURL is the origin requests are made to; cookies are scoped to it.
const BaseURL = "http://licensor.test"

// Client talks to one app. Its cookie jar can be shared with a client of
// another app (see WithJar) to carry a session from one node to another.
type Client struct {
	t    testing.TB
	http *http.Client
	// Jar holds the cookies the app set.
	Jar http.CookieJar
	// FollowRedirects makes requests follow 3xx responses like a browser.
	FollowRedirects bool
	// CSRF is the last _csrf token seen in a page; PostForm sends it.
	CSRF string
}

// Option configures New.
type Option func(*Client)

// WithJar shares a cookie jar (for example another Client's Jar).
func WithJar(jar http.CookieJar) Option { return func(c *Client) { c.Jar = jar } }

// Following makes the client follow redirects.
func Following() Option { return func(c *Client) { c.FollowRedirects = true } }

// New returns a client of app with an empty cookie jar.
func New(t testing.TB, app *fiber.App, opts ...Option) *Client {
	t.Helper()
	c := &Client{t: t}
	for _, o := range opts {
		o(c)
	}
	if c.Jar == nil {
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatalf("webtest: cookie jar: %v", err)
		}
		c.Jar = jar
	}
	c.http = &http.Client{
		Transport: appTransport{app: app},
		Jar:       c.Jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			if c.FollowRedirects {
				return nil
			}
			return http.ErrUseLastResponse
		},
	}
	return c
}

// Response is an HTTP response with its body read.
type Response struct {
	*http.Response
	Body string
}

// Do sends req (relative URLs are resolved against BaseURL) and remembers
// any CSRF token in the response.
func (c *Client) Do(req *http.Request) *Response {
	c.t.Helper()
	if req.URL.Host == "" {
		u, err := url.Parse(BaseURL)
		if err != nil {
			c.t.Fatal(err)
		}
		req.URL = u.ResolveReference(req.URL)
		req.Host = req.URL.Host
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("webtest: %s %s: %v", req.Method, req.URL.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("webtest: read body of %s %s: %v", req.Method, req.URL.Path, err)
	}
	r := &Response{Response: resp, Body: string(b)}
	if tok := CSRFFromHTML(r.Body); tok != "" {
		c.CSRF = tok
	}
	return r
}

// Get requests path. headers are name, value pairs.
func (c *Client) Get(path string, headers ...string) *Response {
	c.t.Helper()
	return c.Do(c.newRequest(http.MethodGet, path, nil, headers))
}

// GetCSRF fetches the page at path and returns its _csrf token (also kept
// for PostForm). It fails the test when the page has none.
func (c *Client) GetCSRF(path string) string {
	c.t.Helper()
	r := c.Get(path)
	tok := CSRFFromHTML(r.Body)
	if tok == "" {
		c.t.Fatalf("webtest: no _csrf field in GET %s (status %d)", path, r.StatusCode)
	}
	return tok
}

// PostForm posts values as a form, adding the last seen CSRF token unless
// values already has _csrf. headers are name, value pairs.
func (c *Client) PostForm(path string, values url.Values, headers ...string) *Response {
	c.t.Helper()
	if values == nil {
		values = url.Values{}
	}
	if _, ok := values["_csrf"]; !ok && c.CSRF != "" {
		values.Set("_csrf", c.CSRF)
	}
	req := c.newRequest(http.MethodPost, path, strings.NewReader(values.Encode()), headers)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// Cookie returns the value of the named cookie the jar holds for BaseURL.
func (c *Client) Cookie(name string) string {
	u, _ := url.Parse(BaseURL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// SetCookie puts a cookie in the jar, as if the app had set it.
func (c *Client) SetCookie(name, value string) {
	u, _ := url.Parse(BaseURL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

func (c *Client) newRequest(method, path string, body io.Reader, headers []string) *http.Request {
	c.t.Helper()
	req, err := http.NewRequest(method, BaseURL+path, body)
	if err != nil {
		c.t.Fatalf("webtest: %v", err)
	}
	if len(headers)%2 != 0 {
		c.t.Fatalf("webtest: headers must be name, value pairs")
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

var csrfField = regexp.MustCompile(`<input[^>]*name="_csrf"[^>]*value="([^"]*)"`)

// CSRFFromHTML extracts the value of the first hidden _csrf field.
func CSRFFromHTML(body string) string {
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// appTransport is an http.RoundTripper that serves requests with app.Test.
type appTransport struct{ app *fiber.App }

func (t appTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// app.Test adds headers to the request; RoundTrippers must not modify
	// theirs. The body is buffered so Content-Length is known.
	r := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	}
	// Password hashing under the race detector is slow: 20-100 ms becomes
	// 1.6-6 s on a loaded 2-core machine, and a sign-in with two-factor or
	// a password change hashes more than once, so 30 s was seen to run out
	// in admin and portal tests at load 20. The bound only turns a hung
	// handler into a failure before go test's own timeout does.
	return t.app.Test(r, fiber.TestConfig{Timeout: 2 * time.Minute, FailOnTimeout: true})
}
