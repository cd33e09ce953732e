// Package mailtest runs a real SMTP server in-process (emersion/go-smtp)
// that records what it receives, for tests of Licensor's email: it can
// require authentication, refuse messages with a temporary error, drop
// the connection after accepting a message (a lost acknowledgement), and
// stop and start again on the same address.
package mailtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/licensor/licensor/test/freeport"
)

// Received is one message the server accepted.
type Received struct {
	From string
	To   []string
	Raw  []byte

	Header    mail.Header
	Subject   string
	MessageID string // without angle brackets
	Text      string // the text/plain part, decoded
	HTML      string // the text/html part, decoded
}

// Server is a running test SMTP server.
type Server struct {
	t    testing.TB
	addr string
	user string
	pass string

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener
	received []Received
	refuse   int // refuse this many more messages with 451
	dropAck  int // close the connection after accepting this many more
	rejected map[string]bool
	signal   chan struct{}
}

// Option configures Start.
type Option func(*Server)

// WithAuth requires AUTH PLAIN with user and pass before MAIL FROM.
func WithAuth(user, pass string) Option {
	return func(s *Server) { s.user, s.pass = user, pass }
}

// Start listens on a free loopback port and serves until the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := Reserve(t, opts...)
	s.Restart()
	return s
}

// Reserve returns a server that is not listening yet (the SMTP server is
// "down"); Restart brings it up on the reserved address.
func Reserve(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{t: t, signal: make(chan struct{}, 1)}
	for _, o := range opts {
		o(s)
	}
	// Below the ephemeral range: the server may be down (Reserve) while
	// River's connections to PostgreSQL take local ports.
	s.addr = freeport.Addr(t)
	t.Cleanup(s.Stop)
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return s.addr }

// URL is the mail.smtp_url that reaches the server (with its credentials).
func (s *Server) URL() string {
	if s.user != "" {
		return fmt.Sprintf("smtp://%s:%s@%s", s.user, s.pass, s.addr)
	}
	return "smtp://" + s.addr
}

// Stop closes the listener, lets the sessions under way end for up to
// two seconds and then closes what is left. A message the server took
// gets its reply: a message counted here whose "250" never reached the
// sender would be sent again, a duplicate no mail client can avoid
// (DropAckNext makes that case on purpose).
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if ln != nil {
		// Closed here too: Serve may not have taken the listener yet.
		_ = ln.Close()
	}
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			_ = srv.Close()
		}
	}
}

// Restart listens again on the same address.
func (s *Server) Restart() {
	s.t.Helper()
	var ln net.Listener
	var err error
	// The port was ours a moment ago; the kernel may hold it briefly.
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond) // nothing tells when the kernel lets the port go
	}
	if err != nil {
		s.t.Fatalf("mailtest: listen again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// RefuseNext makes the server answer the next n messages with a temporary
// failure (451) after their data.
func (s *Server) RefuseNext(n int) {
	s.mu.Lock()
	s.refuse = n
	s.mu.Unlock()
}

// DropAckNext makes the server record the next n messages and then close
// the connection instead of acknowledging them.
func (s *Server) DropAckNext(n int) {
	s.mu.Lock()
	s.dropAck = n
	s.mu.Unlock()
}

// RejectRecipient makes the server refuse addr for good (550).
func (s *Server) RejectRecipient(addr string) {
	s.mu.Lock()
	if s.rejected == nil {
		s.rejected = map[string]bool{}
	}
	s.rejected[strings.ToLower(addr)] = true
	s.mu.Unlock()
}

// Messages returns what was accepted so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Wait waits until at least n messages arrived and returns them; it fails
// the test after timeout.
func (s *Server) Wait(n int, timeout time.Duration) []Received {
	s.t.Helper()
	deadline := time.After(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.signal:
		case <-deadline:
			s.t.Fatalf("mailtest: %d messages after %s, want %d", len(s.Messages()), timeout, n)
		}
	}
}

// WaitMatch waits until a message for which match is true has arrived and
// returns it; ok is false when none had after timeout. It wakes on each
// message the server accepts, and like Wait expects one waiter at a time.
func (s *Server) WaitMatch(timeout time.Duration, match func(Received) bool) (m Received, ok bool) {
	deadline := time.After(timeout)
	for {
		for _, m := range s.Messages() {
			if match(m) {
				return m, true
			}
		}
		select {
		case <-s.signal:
		case <-deadline:
			return Received{}, false
		}
	}
}

func (s *Server) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "mailtest.local"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = discardLogger{}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (se *session) AuthMechanisms() []string {
	if se.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != se.s.user || pass != se.s.pass {
			return smtp.ErrAuthFailed
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.user != "" && !se.authed {
		return smtp.ErrAuthRequired
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.s.mu.Lock()
	rejected := se.s.rejected[strings.ToLower(to)]
	se.s.mu.Unlock()
	if rejected {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := se.s
	s.mu.Lock()
	if s.refuse > 0 {
		s.refuse--
		s.mu.Unlock()
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	drop := s.dropAck > 0
	if drop {
		s.dropAck--
	}
	s.received = append(s.received, parse(se.from, se.to, raw))
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
	if drop {
		_ = se.conn.Conn().Close()
	}
	return nil
}

func (se *session) Reset()        { se.from, se.to = "", nil }
func (se *session) Logout() error { return nil }

type discardLogger struct{}

func (discardLogger) Printf(string, ...interface{}) {}
func (discardLogger) Println(...interface{})        {}

// parse reads the parts tests look at; a message it cannot parse keeps
// only Raw.
func parse(from string, to []string, raw []byte) Received {
	r := Received{From: from, To: to, Raw: raw}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return r
	}
	r.Header = m.Header
	dec := new(mime.WordDecoder)
	if subj, err := dec.DecodeHeader(m.Header.Get("Subject")); err == nil {
		r.Subject = subj
	}
	r.MessageID = strings.Trim(m.Header.Get("Message-Id"), "<>")
	_ = walk(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, &r)
	return r
}

func walk(contentType, encoding string, body io.Reader, r *Received) error {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, r); err != nil {
				return err
			}
		}
	}
	if strings.EqualFold(encoding, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	switch mediaType {
	case "text/plain":
		r.Text = string(b)
	case "text/html":
		r.HTML = string(b)
	}
	return nil
}
