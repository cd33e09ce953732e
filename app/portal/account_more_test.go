package portal_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/server/servertest"
	"github.com/licensor/licensor/app/web/webtest"
)

// uploadAvatar posts file as the avatar field, as the settings form does.
func uploadAvatar(t *testing.T, c *webtest.Client, filename string, file []byte) *webtest.Response {
	t.Helper()
	c.GetCSRF("/customer/settings")
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile("avatar", filename)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = part.Write(file)
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, "/customer/settings/avatar?_csrf="+url.QueryEscape(c.CSRF), &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.Do(req)
}

func testImage(t *testing.T, w, h int, enc func(*bytes.Buffer, image.Image) error, noise ...bool) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
			if len(noise) > 0 {
				img.Set(x, y, color.RGBA{uint8(rand.IntN(256)), uint8(y), uint8(rand.IntN(256)), 255})
			}
		}
	}
	var b bytes.Buffer
	if err := enc(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngBomb is a valid PNG of a few hundred bytes declaring w×h pixels, all
// black: decoding it whole would allocate w×h×3 bytes (7.5 GB for
// 50000×50000), so it must be refused from its header.
func pngBomb(t *testing.T, w, h uint32) []byte {
	t.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&out, binary.BigEndian, uint32(len(data)))
		out.WriteString(typ)
		out.Write(data)
		_ = binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	// The first rows of zeros, compressed: a real start of the image data.
	var idat bytes.Buffer
	zw := zlib.NewWriter(&idat)
	_, _ = zw.Write(make([]byte, 64*(1+3*int(w))))
	_ = zw.Close()
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	if out.Len() > 64<<10 {
		t.Fatalf("bomb of %d bytes", out.Len())
	}
	return out.Bytes()
}

func withDataDir(t *testing.T) func(*config.Config) {
	dir := t.TempDir()
	return func(c *config.Config) { c.DataDir = dir; c.Uploads.MaxAvatarBytes = 200 << 10 }
}

func TestAvatarUpload(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, withDataDir(t))
	cu := newCustomer(t, e, "cora@example.com", true)
	other := newCustomer(t, e, "otto@example.com", true)
	c := mustSignIn(t, e, cu.Email)

	// Initials until a picture is uploaded.
	if r := c.Get("/customer/settings"); !strings.Contains(r.Body, `<span class="avatar" aria-hidden="true">CC</span>`) {
		t.Errorf("no initials in the header:\n%s", r.Body)
	}

	pngImg := testImage(t, 600, 300, func(b *bytes.Buffer, i image.Image) error { return png.Encode(b, i) })
	gifImg := testImage(t, 50, 50, func(b *bytes.Buffer, i image.Image) error { return gif.Encode(b, i, nil) })
	big := testImage(t, 400, 400, func(b *bytes.Buffer, i image.Image) error { return png.Encode(b, i) }, true)
	broken := append([]byte("\x89PNG\r\n\x1a\n"), []byte("not really a png at all")...)
	for _, tc := range []struct {
		name, file string
		data       []byte
		want       string
	}{
		{"text renamed .png", "notes.png", []byte("just some text, honest\n"), "must be a JPEG, PNG or WebP"},
		{"gif", "anim.gif", gifImg, "must be a JPEG, PNG or WebP"},
		{"too big", "huge.png", big, "too large: at most 200 KB"},
		{"png magic, broken body", "broken.png", broken, "could not be read"},
		{"empty", "empty.png", nil, "Choose a picture"},
		{"decompression bomb", "bomb.png", pngBomb(t, 50000, 50000), "at most 16 megapixels"},
	} {
		if len(tc.data) > 0 && tc.name == "too big" && len(tc.data) <= 200<<10 {
			t.Fatalf("test image not big enough: %d", len(tc.data))
		}
		r := uploadAvatar(t, c, tc.file, tc.data)
		if r.StatusCode != 422 || !strings.Contains(r.Body, tc.want) || !strings.Contains(r.Body, `id="settings-avatar-error"`) {
			t.Errorf("%s: %d, want 422 with %q\n%s", tc.name, r.StatusCode, tc.want, r.Body)
		}
	}
	if got, _ := customers.Get(context.Background(), e.DB.Bun, cu.ID); got.AvatarPath != nil {
		t.Fatalf("a refused upload was stored: %v", *got.AvatarPath)
	}

	// A good picture: centre-cropped and resized to 256×256 PNG.
	if r := uploadAvatar(t, c, "me.png", pngImg); r.StatusCode != 303 {
		t.Fatalf("good upload: %d\n%s", r.StatusCode, r.Body)
	}
	got, _ := customers.Get(context.Background(), e.DB.Bun, cu.ID)
	if got.AvatarPath == nil {
		t.Fatal("avatar not recorded")
	}
	first := *got.AvatarPath
	page := c.Get("/customer/settings")
	src := "/customer/avatar/" + itoa(cu.ID)
	if !strings.Contains(page.Body, `src="`+src+`?v=`) {
		t.Fatalf("header does not show the avatar:\n%s", page.Body)
	}
	r := c.Get(src)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("own avatar: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	img, err := png.Decode(strings.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 256 {
		t.Errorf("thumbnail is %dx%d, want 256x256", b.Dx(), b.Dy())
	}

	// Another customer's avatar URL, and anonymous requests: no picture.
	if r := mustSignIn(t, e, other.Email).Get(src); r.StatusCode != 404 {
		t.Errorf("another customer's avatar: %d", r.StatusCode)
	}
	if r := e.Client(t).Get(src); r.StatusCode != 302 {
		t.Errorf("anonymous avatar request: %d", r.StatusCode)
	}
	// Admins see it in the console.
	if r := e.SignIn(t).Get("/admin/customers/" + itoa(cu.ID) + "/avatar"); r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" {
		t.Errorf("admin avatar: %d", r.StatusCode)
	}
	if r := e.SignIn(t).Get("/admin/customers/" + itoa(other.ID) + "/avatar"); r.StatusCode != 404 {
		t.Errorf("admin avatar of a customer without one: %d", r.StatusCode)
	}

	// A JPEG replaces it; the old file is removed.
	jpg := testImage(t, 300, 500, func(b *bytes.Buffer, i image.Image) error { return jpeg.Encode(b, i, nil) })
	if r := uploadAvatar(t, c, "me.jpg", jpg); r.StatusCode != 303 {
		t.Fatalf("jpeg upload: %d\n%s", r.StatusCode, r.Body)
	}
	got, _ = customers.Get(context.Background(), e.DB.Bun, cu.ID)
	if *got.AvatarPath == first {
		t.Error("avatar key unchanged")
	}
	if fileExists(e.Config.DataDir + "/avatars/" + first) {
		t.Error("replaced avatar file left behind")
	}
	second := *got.AvatarPath
	// Remove it.
	c.GetCSRF("/customer/settings")
	if r := c.PostForm("/customer/settings/avatar/delete", nil); r.StatusCode != 303 {
		t.Fatalf("remove: %d", r.StatusCode)
	}
	if fileExists(e.Config.DataDir + "/avatars/" + second) {
		t.Error("removed avatar file left behind")
	}
	if r := c.Get(src); r.StatusCode != 404 {
		t.Errorf("removed avatar still served: %d", r.StatusCode)
	}
	// Without the CSRF token, refused.
	anon := webtest.New(t, e.App, webtest.WithJar(c.Jar))
	if r := anon.PostForm("/customer/settings/avatar/delete", url.Values{}); r.StatusCode != 403 {
		t.Errorf("CSRF-less remove: %d", r.StatusCode)
	}
}

func TestEmailChange(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	srv := e.StartMailWorker(t)
	cu := newCustomer(t, e, "cora@example.com", true)
	newCustomer(t, e, "taken@example.com", true)
	c := mustSignIn(t, e, cu.Email)
	change := func(email, pw string) *webtest.Response {
		c.GetCSRF("/customer/settings")
		return c.PostForm("/customer/settings/email", url.Values{"email": {email}, "current_password": {pw}})
	}

	// Wrong password, bad address: refused next to the field, typed address kept.
	if r := change("new@example.com", "wrong password!"); r.StatusCode != 422 || !strings.Contains(r.Body, "current password is not correct") || !strings.Contains(r.Body, `value="new@example.com"`) {
		t.Errorf("wrong password: %d\n%s", r.StatusCode, r.Body)
	}
	if r := change("not-an-email", password); r.StatusCode != 422 || !strings.Contains(r.Body, `id="settings-email-error"`) {
		t.Errorf("bad address: %d", r.StatusCode)
	}
	// An address another account uses: the same answer, no email.
	if r := change("taken@example.com", password); r.StatusCode != 303 {
		t.Errorf("taken address: %d", r.StatusCode)
	}
	if n := len(mails(t, e, mail.KindEmailConfirmation, "taken@example.com")); n != 0 {
		t.Errorf("confirmation sent to a taken address: %d", n)
	}

	// The real change: the link goes to the NEW address; nothing changes yet.
	if r := change("new@example.com", password); r.StatusCode != 303 {
		t.Fatalf("change: %d\n%s", r.StatusCode, r.Body)
	}
	if flash := c.Get("/customer/settings").Body; !strings.Contains(flash, "We have sent a confirmation link to new@example.com") {
		t.Error("no flash after asking for the change")
	}
	sent := mails(t, e, mail.KindEmailConfirmation, "new@example.com")
	if len(sent) != 1 {
		t.Fatalf("confirmation emails to the new address: %d", len(sent))
	}
	if got, _ := customers.Get(context.Background(), e.DB.Bun, cu.ID); got.Email != "cora@example.com" {
		t.Fatalf("email changed before the link was opened: %s", got.Email)
	}
	path := link(t, sent[0])
	r := c.Get(path)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/customer/settings" {
		t.Fatalf("open link: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	if got, _ := customers.Get(context.Background(), e.DB.Bun, cu.ID); got.Email != "new@example.com" {
		t.Fatalf("email after the link: %s", got.Email)
	}
	if n := len(mails(t, e, mail.KindEmailChanged, "cora@example.com")); n != 1 {
		t.Errorf("notices to the old address: %d", n)
	}
	// Both really delivered over SMTP: the link to the new address, the
	// notice to the old one; nothing to the taken address.
	delivered := map[string]string{}
	for _, m := range srv.Wait(2, 15*time.Second) {
		delivered[m.To[0]] = m.Subject
	}
	if delivered["new@example.com"] != "Confirm your email address" || delivered["cora@example.com"] != "Your email address was changed" || len(delivered) != 2 {
		t.Errorf("delivered: %v", delivered)
	}
	// Reuse refused.
	if r := c.Get(path); r.StatusCode != 400 {
		t.Errorf("reused link: %d", r.StatusCode)
	}

	// Expired link refused.
	if r := change("later@example.com", password); r.StatusCode != 303 {
		t.Fatalf("second change: %d", r.StatusCode)
	}
	later := mails(t, e, mail.KindEmailConfirmation, "later@example.com")
	if _, err := e.DB.Bun.NewRaw("UPDATE customer_tokens SET expires_at = ? WHERE email = 'later@example.com'", time.Now().Add(-time.Minute)).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := c.Get(link(t, later[0])); r.StatusCode != 400 {
		t.Errorf("expired link: %d", r.StatusCode)
	}

	// Taken between the two steps: refused at the link.
	if r := change("race@example.com", password); r.StatusCode != 303 {
		t.Fatalf("third change: %d", r.StatusCode)
	}
	race := mails(t, e, mail.KindEmailConfirmation, "race@example.com")
	newCustomer(t, e, "race@example.com", true)
	r = c.Get(link(t, race[0]))
	if r.StatusCode != 409 || !strings.Contains(r.Body, "used by another account") {
		t.Errorf("link to an address taken meanwhile: %d\n%s", r.StatusCode, r.Body)
	}
	if got, _ := customers.Get(context.Background(), e.DB.Bun, cu.ID); got.Email != "new@example.com" {
		t.Errorf("email after the refused links: %s", got.Email)
	}
	// CSRF-less request refused.
	anon := webtest.New(t, e.App, webtest.WithJar(c.Jar))
	if r := anon.PostForm("/customer/settings/email", url.Values{"email": {"x@example.com"}, "current_password": {password}}); r.StatusCode != 403 {
		t.Errorf("CSRF-less email change: %d", r.StatusCode)
	}
	if r := e.Client(t).Get("/customer/settings"); r.StatusCode != 302 {
		t.Errorf("anonymous settings: %d", r.StatusCode)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
