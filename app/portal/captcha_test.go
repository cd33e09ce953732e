package portal_test

import (
	"bytes"
	"context"
	"image/png"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

var (
	captchaIDRE  = regexp.MustCompile(`name="captcha_id" value="([0-9a-f]+)"`)
	mathRE       = regexp.MustCompile(`What is (\d+) (plus|minus) (\d+)\?`)
	captchaImgRE = regexp.MustCompile(`src="(/customer/captcha/[0-9a-f]+\.png)"`)
)

// challenge reads the CAPTCHA of a form page: its id and the right answer
// (the math question solved, or the image's digits read from the
// database store, as another node would).
func challenge(t *testing.T, e *servertest.Env, body string) (id, answer string) {
	t.Helper()
	m := captchaIDRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CAPTCHA in the form:\n%s", body)
	}
	id = m[1]
	if q := mathRE.FindStringSubmatch(body); q != nil {
		a, _ := strconv.Atoi(q[1])
		b, _ := strconv.Atoi(q[3])
		if q[2] == "plus" {
			return id, strconv.Itoa(a + b)
		}
		return id, strconv.Itoa(a - b)
	}
	var digits []byte
	if err := e.DB.Bun.NewRaw("SELECT answer FROM captcha_challenges WHERE id = ? AND kind = 'image'", id).
		Scan(context.Background(), &digits); err != nil {
		t.Fatalf("image challenge %s not in the database: %v", id, err)
	}
	var b strings.Builder
	for _, d := range digits {
		b.WriteByte('0' + d)
	}
	return id, b.String()
}

// captchaForms: each form that can carry a CAPTCHA, how to fill it, and
// what a passed CAPTCHA leads to.
type captchaForm struct {
	name, page, action string
	values             url.Values
	passed             func(r *webtest.Response) bool
}

func captchaForms() []captchaForm {
	return []captchaForm{
		{"login", "/customer/login", "/customer/login",
			url.Values{"email": {"cora@example.com"}, "password": {password}},
			func(r *webtest.Response) bool {
				return r.StatusCode == 303 && r.Header.Get("Location") == "/customer/dashboard"
			}},
		{"register", "/customer/register", "/customer/register",
			url.Values{"name": {"Rita Register"}, "email": {"rita@example.com"}, "password": {password}, "password_confirmation": {password}},
			func(r *webtest.Response) bool { return r.StatusCode == 303 }},
		{"password_forgot", "/customer/password/forgot", "/customer/password/forgot",
			url.Values{"email": {"cora@example.com"}},
			func(r *webtest.Response) bool { return r.StatusCode == 303 }},
	}
}

func post(c *webtest.Client, path string, values url.Values, extra ...string) *webtest.Response {
	v := url.Values{}
	for k, vs := range values {
		v[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return c.PostForm(path, v)
}

func TestCaptchaOnEveryForm(t *testing.T) {
	t.Parallel()
	for _, provider := range []string{"math", "image"} {
		t.Run(provider, func(t *testing.T) {
			e := servertest.New(t)
			e.SetSettings(t, map[string]string{"registration_enabled": "true", "captcha_provider": provider})
			newCustomer(t, e, "cora@example.com", true)
			for _, f := range captchaForms() {
				t.Run(f.name, func(t *testing.T) {
					c := e.Client(t)
					page := c.Get(f.page)
					id, answer := challenge(t, e, page.Body)
					if provider == "image" {
						img := captchaImgRE.FindStringSubmatch(page.Body)
						if img == nil {
							t.Fatalf("no image in the form:\n%s", page.Body)
						}
						r := c.Get(img[1])
						if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" {
							t.Fatalf("image: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
						}
						if _, err := png.Decode(bytes.NewReader([]byte(r.Body))); err != nil {
							t.Fatalf("image is not a PNG: %v", err)
						}
					}

					// Missing answer: refused, typed values kept, message by the field.
					r := post(c, f.action, f.values, "captcha_id", id)
					if r.StatusCode != 422 || !strings.Contains(r.Body, captcha.MsgMissing) {
						t.Fatalf("missing answer: %d\n%s", r.StatusCode, r.Body)
					}
					if email := f.values.Get("email"); !strings.Contains(r.Body, `value="`+email+`"`) {
						t.Errorf("typed email not kept:\n%s", r.Body)
					}
					if strings.Contains(r.Body, password) {
						t.Error("the password was echoed back")
					}
					// The challenge was used up by the missing answer, even
					// with the right one now.
					r = post(c, f.action, f.values, "captcha_id", id, "captcha_answer", answer)
					if r.StatusCode != 422 || !strings.Contains(r.Body, captcha.MsgWrong) {
						t.Fatalf("used challenge accepted: %d\n%s", r.StatusCode, r.Body)
					}

					// Wrong answer.
					id, answer = challenge(t, e, r.Body)
					r = post(c, f.action, f.values, "captcha_id", id, "captcha_answer", answer+"1")
					if r.StatusCode != 422 || !strings.Contains(r.Body, captcha.MsgWrong) || !strings.Contains(r.Body, `id="captcha-`+f.name+`-error"`) {
						t.Fatalf("wrong answer: %d\n%s", r.StatusCode, r.Body)
					}

					// Right answer goes through; the challenge cannot be replayed.
					id, answer = challenge(t, e, r.Body)
					if r = post(c, f.action, f.values, "captcha_id", id, "captcha_answer", answer); !f.passed(r) {
						t.Fatalf("right answer refused: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
					}
					if n := countRows(t, e, "SELECT count(*) FROM captcha_challenges WHERE id = ?", id); n != 0 {
						t.Errorf("answered challenge still stored")
					}
					c2 := e.Client(t)
					c2.GetCSRF(f.page)
					if r = post(c2, f.action, f.values, "captcha_id", id, "captcha_answer", answer); r.StatusCode != 422 {
						t.Errorf("replayed answer: %d", r.StatusCode)
					}
				})
			}
			if n := countRows(t, e, "SELECT count(*) FROM customers WHERE email = 'rita@example.com'"); n != 1 {
				t.Errorf("registrations with a solved CAPTCHA: %d, want 1", n)
			}
			var reasons []string
			if err := e.DB.Bun.NewRaw("SELECT reason FROM customer_logins WHERE NOT success ORDER BY id").
				Scan(context.Background(), &reasons); err != nil {
				t.Fatal(err)
			}
			if len(reasons) == 0 || reasons[0] != customers.ReasonCaptcha {
				t.Errorf("refused sign-ins recorded as %v", reasons)
			}
		})
	}
}

func TestCaptchaAnsweredOnAnotherNode(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	e.SetSettings(t, map[string]string{"captcha_provider": "image"})
	newCustomer(t, e, "cora@example.com", true)
	second := e.NewApp(t)

	a := e.Client(t)
	page := a.Get("/customer/login")
	id, answer := challenge(t, e, page.Body)
	b := webtest.New(t, second, webtest.WithJar(a.Jar))
	b.CSRF = a.CSRF
	if r := b.Get(captchaImgRE.FindStringSubmatch(page.Body)[1]); r.StatusCode != 200 {
		t.Fatalf("image from the other node: %d", r.StatusCode)
	}
	r := b.PostForm("/customer/login", url.Values{"email": {"cora@example.com"}, "password": {password},
		"captcha_id": {id}, "captcha_answer": {answer}})
	if r.StatusCode != 303 || r.Header.Get("Location") != "/customer/dashboard" {
		t.Fatalf("answer checked on the second node: %d\n%s", r.StatusCode, r.Body)
	}
}

func TestCaptchaImageReloadAndUnknown(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	e.SetSettings(t, map[string]string{"captcha_provider": "image", "captcha_forms": "login"})
	c := e.Client(t)
	page := c.Get("/customer/login")
	id, before := challenge(t, e, page.Body)
	src := captchaImgRE.FindStringSubmatch(page.Body)[1]
	if !strings.Contains(page.Body, "data-captcha-reload") {
		t.Error("no reload button")
	}
	changed := false
	for i := 0; i < 5 && !changed; i++ {
		if r := c.Get(src + "?reload=1"); r.StatusCode != 200 {
			t.Fatalf("reload: %d", r.StatusCode)
		}
		_, after := challenge(t, e, page.Body)
		changed = after != before
	}
	if !changed {
		t.Error("reload kept the same digits")
	}
	if r := c.Get("/customer/captcha/0123456789abcdef0123456789abcdef.png"); r.StatusCode != 404 {
		t.Errorf("unknown challenge image: %d", r.StatusCode)
	}
	_ = id
	// Forms not listed in captcha_forms show none.
	if r := c.Get("/customer/password/forgot"); strings.Contains(r.Body, "captcha_id") {
		t.Error("forgot-password form shows a CAPTCHA it was not asked for")
	}
	// A plugin provider that is not running refuses the form.
	e.SetSettings(t, map[string]string{"captcha_provider": "plugin:recaptcha"})
	r := c.Get("/customer/login")
	if !strings.Contains(r.Body, captcha.MsgUnavailable) {
		t.Errorf("missing plugin not reported:\n%s", r.Body)
	}
	newCustomer(t, e, "cora@example.com", true)
	if r := signIn(c, "cora@example.com", password); r.StatusCode != 422 {
		t.Errorf("sign-in with the plugin missing: %d", r.StatusCode)
	}
}
