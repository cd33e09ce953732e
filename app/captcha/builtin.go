package captcha

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"html/template"
	"io"
	"math/big"
	"strconv"
	"strings"

	dchest "github.com/dchest/captcha"
)

// The fields the built-in widgets post.
const (
	FieldID     = "captcha_id"
	FieldAnswer = "captcha_answer"
)

// ImagePathPrefix is where the portal serves challenge images:
// ImagePathPrefix + id + ".png".
const ImagePathPrefix = "/customer/captcha/"

// Size of the image challenge.
const (
	imageDigits = 6
	ImageWidth  = 240
	ImageHeight = 80
)

// MathProvider asks for a small sum or difference.
type MathProvider struct{ store *Store }

// NewMath returns the math provider on store's table.
func NewMath(store *Store) *MathProvider { return &MathProvider{store: store.WithKind(ProviderMath)} }

// Widget stores a new question's answer and draws the question.
func (p *MathProvider) Widget(ctx context.Context, form string) (template.HTML, error) {
	a, b := randInt(2, 20), randInt(1, 9)
	op := "plus"
	answer := a + b
	if randInt(0, 1) == 1 {
		op, answer = "minus", a-b
	}
	id, err := p.store.Create(ctx, []byte(strconv.Itoa(answer)))
	if err != nil {
		return "", err
	}
	return render(mathTemplate, widgetData{ID: id, Form: form, Question: fmt.Sprintf("What is %d %s %d?", a, op, b)})
}

// Verify checks captcha_answer against the stored answer of captcha_id,
// using the challenge up.
func (p *MathProvider) Verify(ctx context.Context, _ string, response map[string]string, _ string) (Result, error) {
	return verify(ctx, p.store, response, func(s string) []byte { return []byte(s) })
}

// ImageProvider shows six digits drawn by dchest/captcha.
type ImageProvider struct{ store *Store }

// NewImage returns the image provider on store's table.
func NewImage(store *Store) *ImageProvider {
	return &ImageProvider{store: store.WithKind(ProviderImage)}
}

// Widget stores six random digits and draws the image, a reload button and
// the answer field.
func (p *ImageProvider) Widget(ctx context.Context, form string) (template.HTML, error) {
	id, err := p.store.Create(ctx, dchest.RandomDigits(imageDigits))
	if err != nil {
		return "", err
	}
	return render(imageTemplate, widgetData{ID: id, Form: form, Src: ImagePathPrefix + id + ".png",
		Width: ImageWidth, Height: ImageHeight})
}

// Verify checks the typed digits against captcha_id's, using it up.
func (p *ImageProvider) Verify(ctx context.Context, _ string, response map[string]string, _ string) (Result, error) {
	return verify(ctx, p.store, response, digitsOf)
}

// WriteImage writes the PNG of challenge id, after drawing new digits for
// it when reload is set. It reports false for an unknown or expired id.
func (p *ImageProvider) WriteImage(ctx context.Context, w io.Writer, id string, reload bool) (bool, error) {
	var digits []byte
	if reload {
		digits = dchest.RandomDigits(imageDigits)
		ok, err := p.store.Replace(ctx, id, digits)
		if err != nil || !ok {
			return false, err
		}
	} else {
		var err error
		if digits, err = p.store.Peek(ctx, id); err != nil || digits == nil {
			return false, err
		}
	}
	if _, err := dchest.NewImage(id, digits, ImageWidth, ImageHeight).WriteTo(w); err != nil {
		return false, fmt.Errorf("captcha: write image: %w", err)
	}
	return true, nil
}

// verify is the built-in providers' check: one try per challenge.
func verify(ctx context.Context, store *Store, response map[string]string, parse func(string) []byte) (Result, error) {
	id := strings.TrimSpace(response[FieldID])
	typed := strings.Join(strings.Fields(response[FieldAnswer]), "")
	if id == "" || typed == "" {
		if id != "" {
			if _, err := store.Take(ctx, id); err != nil {
				return Result{}, err
			}
		}
		return Result{Reason: ReasonMissing}, nil
	}
	want, err := store.Take(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if want == nil {
		return Result{Reason: ReasonExpired}, nil
	}
	got := parse(typed)
	if got == nil || subtle.ConstantTimeCompare(got, want) != 1 {
		return Result{Reason: ReasonWrong}, nil
	}
	return Result{OK: true}, nil
}

// digitsOf turns typed digits into dchest/captcha's digit values (0-9),
// or nil when anything else was typed.
func digitsOf(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r < '0' || r > '9' {
			return nil
		}
		out = append(out, byte(r-'0'))
	}
	return out
}

func randInt(lo, hi int) int {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(hi-lo+1)))
	if err != nil {
		return lo
	}
	return lo + int(n.Int64())
}

type widgetData struct {
	ID, Form, Question, Src string
	Width, Height           int
}

var (
	mathTemplate = template.Must(template.New("math").Parse(`<div class="captcha captcha-math">
<input type="hidden" name="captcha_id" value="{{.ID}}">
<label for="captcha-{{.Form}}">Security check: {{.Question}}</label>
<input id="captcha-{{.Form}}" type="text" name="captcha_answer" inputmode="numeric" autocomplete="off" required aria-describedby="captcha-{{.Form}}-error">
</div>`))
	imageTemplate = template.Must(template.New("image").Parse(`<div class="captcha captcha-image">
<input type="hidden" name="captcha_id" value="{{.ID}}">
<div class="captcha-picture">
<img id="captcha-{{.Form}}-image" src="{{.Src}}" width="{{.Width}}" height="{{.Height}}" alt="Security check: six digits on a noisy background">
<button type="button" class="outline secondary captcha-reload" data-captcha-reload="captcha-{{.Form}}-image">New image</button>
</div>
<label for="captcha-{{.Form}}">Security check: type the six digits shown</label>
<input id="captcha-{{.Form}}" type="text" name="captcha_answer" inputmode="numeric" autocomplete="off" maxlength="12" required aria-describedby="captcha-{{.Form}}-error">
</div>`))
)

func render(t *template.Template, d widgetData) (template.HTML, error) {
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("captcha: widget: %w", err)
	}
	return template.HTML(b.String()), nil //nolint:gosec // produced by html/template
}
