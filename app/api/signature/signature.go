// Package signature signs the external API's answers
// (docs/api/verifying.md#signed-responses): every answer of an external
// route, errors included, gets a Digest and a Licensor-Signature header
// (the format is app/signing's), and a nonce the client sent is echoed in
// the JSON body before it is signed. The routes of package external run
// Signer.Handle first; the handlers know nothing of it.
//
// Signing costs an Ed25519 signature (some 20 µs, as much as a cached
// verify), so signatures are kept for the second their date names: the
// same answer to the same request line and host within a second (the
// same installation verifying, or many installations of one license
// getting one answer) is signed once. Answers carrying a nonce are all
// different and always signed.
package signature

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/apirequest"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/web"
)

const (
	// NonceHeader carries a client's nonce; a "nonce" field does too.
	NonceHeader = "X-Licensor-Nonce"
	// nonceField is the nonce's request field and its key in the body.
	nonceField = "nonce"
	// MaxNonceLen bounds an echoed nonce; a longer one is not echoed, so
	// the client's check fails rather than the body growing.
	MaxNonceLen = 255
	// maxCached bounds the signatures kept for one second.
	maxCached = 4096
	// digestKey is where SetDigest leaves a streamed body's SHA-256.
	digestKey = "licensor.signature.digest"
	// maxMemoBody bounds the body a second's digest memo keeps.
	maxMemoBody = 1024
)

// The headers' names, canonical already, as bytes made once.
var (
	digestHeader    = []byte(signing.DigestHeader)
	signatureHeader = []byte(signing.ResponseSignatureHeader)
)

// Signer signs answers with a node's key ring. It is safe for concurrent
// use.
type Signer struct {
	ring     *signing.KeyRing
	settings *settings.Store
	now      func() time.Time
	recover  fiber.Handler
	logger   *slog.Logger
	second   atomic.Pointer[second]
	bufs     sync.Pool
}

// second holds the signatures made for one date and key set.
type second struct {
	unix int64
	keys any
	date string
	mu   sync.RWMutex
	// sigs maps a signing string to its Licensor-Signature value.
	sigs map[string]string
	// digest is the Digest of the first answer without a nonce signed in
	// this second: most answers of a second are the same few bytes
	// (verify's "Verified."), whose SHA-256 is then taken once.
	digest atomic.Pointer[digestMemo]
	// last is the signature made last in this second: most answers of a
	// second share it, and find it with an atomic load, where the read
	// lock of sigs is a write to memory both cores share.
	last atomic.Pointer[signedMsg]
}

// signedMsg is a signing string and its Licensor-Signature value.
type signedMsg struct {
	msg, value string
}

// digestMemo is a body and its Digest header's value.
type digestMemo struct {
	body, value []byte
}

// Options configure a Signer.
type Options struct {
	Ring     *signing.KeyRing
	Settings *settings.Store
	Logger   *slog.Logger
	// Now is the clock of the signed date; nil: the request's time
	// (web.RequestTime), read once per request with the other
	// middleware.
	Now func() time.Time
}

// New returns a Signer.
func New(o Options) *Signer {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Signer{ring: o.Ring, settings: o.Settings, now: o.Now, logger: o.Logger, recover: web.Recover(o.Logger),
		bufs: sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}}
}

// SetDigest gives the SHA-256 (hex) of a body sent as a stream (a
// download), which the signer cannot read without reading the file. The
// digest is of the whole file, also for a Range answer: what a client
// checks once it has every part.
func SetDigest(c fiber.Ctx, sha256Hex string) {
	var sum [sha256.Size]byte
	if n, err := hex.Decode(sum[:], []byte(sha256Hex)); err == nil && n == sha256.Size {
		c.Locals(digestKey, sum)
	}
}

// Handle runs the rest of the route and signs its answer, whatever it is:
// an error is answered here by the app's error handler (and handed on as
// web.Answered, for the request log), a panic by web.Recover's.
func (s *Signer) Handle(c fiber.Ctx) error { return s.handle(c, false) }

// Guarded is Handle for a route whose handler is a pipeline.Guard: the
// nonce header is the one the guard read in its pass over the request's
// headers (pipeline.HeaderNonce), not looked up again.
func (s *Signer) Guarded(c fiber.Ctx) error { return s.handle(c, true) }

func (s *Signer) handle(c fiber.Ctx, guarded bool) error {
	if s.settings != nil {
		if set, err := s.settings.Get(c.Context()); err == nil && !set.SignAPIResponses {
			return c.Next()
		}
	}
	// Read before the handler: it may reuse the request's buffers. The
	// header, when sent, wins over the field.
	var nonce string
	if !guarded {
		nonce = c.Get(NonceHeader)
	}
	if nonce == "" {
		nonce = fieldNonce(c)
	}
	err := s.recover(c)
	if guarded {
		if h := pipeline.HeaderNonce(c); h != "" {
			nonce = h
		}
	}
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.Status(fiber.StatusInternalServerError).SendString("Internal Server Error")
		}
		err = web.Answered(err)
	}
	if nonce != "" {
		echoNonce(c, nonce)
	}
	if serr := s.sign(c, nonce == ""); serr != nil {
		s.logger.ErrorContext(c.Context(), "sign API response", "error", serr, "request_id", web.RequestIDOf(c))
	}
	return err
}

// sign sets the Digest and Licensor-Signature headers of c's answer.
// memo: the answer may be the second's digest memo (it has no nonce,
// which makes every answer different).
func (s *Signer) sign(c fiber.Ctx, memo bool) error {
	res := c.Response()
	sec := s.current(c)
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := (*bp)[:0]
	if d, ok := c.Locals(digestKey).([sha256.Size]byte); ok {
		buf = signing.AppendDigest(buf, &d)
	} else if res.IsBodyStream() {
		// Never reached by the external routes (their streams set a
		// digest); reading the stream here would load a file whole.
		return nil
	} else {
		buf = sec.appendDigest(buf, res.Body(), memo)
	}
	digestLen := len(buf)
	res.Header.SetCanonical(digestHeader, buf)

	req := c.Request()
	buf = signing.AppendResponseSigningString(buf, req.Header.Method(), req.URI().PathOriginal(), req.Host(),
		[]byte(sec.date), buf[:digestLen])
	msg := buf[digestLen:]
	*bp = buf

	var value string
	if last := sec.last.Load(); last != nil && last.msg == string(msg) {
		value = last.value
	} else {
		sec.mu.RLock()
		v, ok := sec.sigs[string(msg)]
		sec.mu.RUnlock()
		if !ok {
			var err error
			if v, err = s.ring.SignResponse(msg, sec.date); err != nil {
				return err
			}
			key := string(msg)
			sec.mu.Lock()
			if len(sec.sigs) < maxCached {
				sec.sigs[key] = v
			}
			sec.mu.Unlock()
			sec.last.Store(&signedMsg{msg: key, value: v})
		}
		value = v
	}
	tail := len(buf)
	buf = append(buf, value...)
	*bp = buf
	res.Header.SetCanonical(signatureHeader, buf[tail:])
	return nil
}

// appendDigest appends the Digest header's value of body to dst: the
// second's memo when body is its body, else computed (and made the memo
// when memo is true and the second has none yet).
func (sec *second) appendDigest(dst, body []byte, memo bool) []byte {
	m := sec.digest.Load()
	if m != nil && bytes.Equal(m.body, body) {
		return append(dst, m.value...)
	}
	sum := sha256.Sum256(body)
	start := len(dst)
	dst = signing.AppendDigest(dst, &sum)
	if memo && m == nil && len(body) <= maxMemoBody {
		sec.digest.CompareAndSwap(nil, &digestMemo{body: bytes.Clone(body), value: bytes.Clone(dst[start:])})
	}
	return dst
}

// current returns the signatures of this second and key set, starting a
// new set when either changed.
func (s *Signer) current(c fiber.Ctx) *second {
	var now time.Time
	if s.now != nil {
		now = s.now()
	} else {
		now = web.RequestTime(c)
	}
	unix, keys := now.Unix(), s.ring.SetID()
	cur := s.second.Load()
	if cur != nil && cur.unix == unix && cur.keys == keys {
		return cur
	}
	if cur != nil && cur.unix > unix && cur.keys == keys {
		// Received in the second before, answered after another request
		// started the next one: signed on its own, so the set the
		// later requests share is kept.
		return &second{unix: unix, keys: keys, date: signing.ResponseDate(now), sigs: make(map[string]string)}
	}
	next := &second{unix: unix, keys: keys, date: signing.ResponseDate(now), sigs: make(map[string]string)}
	if s.second.CompareAndSwap(cur, next) {
		return next
	}
	if cur = s.second.Load(); cur != nil && cur.unix == unix && cur.keys == keys {
		return cur
	}
	return next
}

// fieldNonce is the request's nonce field (JSON, form or query, as any
// field is read), which an X-Licensor-Nonce header overrides. The fields
// are parsed only when "nonce" appears in the body or query at all.
func fieldNonce(c fiber.Ctx) string {
	req := c.Request()
	body, query := req.Body(), req.URI().QueryString()
	if !bytes.Contains(body, []byte(nonceField)) && !bytes.Contains(query, []byte(nonceField)) {
		return ""
	}
	q := make(map[string][]string)
	for k, v := range req.URI().QueryArgs().All() {
		q[string(k)] = append(q[string(k)], string(v))
	}
	f, err := apirequest.Parse(c.Get(fiber.HeaderContentType), body, q, nil)
	if err != nil {
		return ""
	}
	v, _ := f.String(nonceField, apirequest.KeepSpace())
	return v
}

// echoNonce adds "nonce":<nonce> as the last key of a JSON object answer.
// Other answers (a file) cannot carry it.
func echoNonce(c fiber.Ctx, nonce string) {
	res := c.Response()
	if len(nonce) > MaxNonceLen || res.IsBodyStream() ||
		!strings.HasPrefix(string(res.Header.ContentType()), fiber.MIMEApplicationJSON) {
		return
	}
	body := bytes.TrimRight(res.Body(), " \t\r\n")
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return
	}
	quoted, err := json.Marshal(nonce)
	if err != nil {
		return
	}
	out := make([]byte, 0, len(body)+len(quoted)+10)
	out = append(out, body[:len(body)-1]...)
	if len(bytes.TrimSpace(body[1:len(body)-1])) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"nonce":`...)
	out = append(out, quoted...)
	out = append(out, '}')
	res.SetBodyRaw(out)
}
