package mail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Transport hands a message to a mail server.
type Transport interface {
	Send(ctx context.Context, m *Message) error
}

// SMTP sends through one SMTP server, a connection per message.
type SMTP struct {
	host string
	port int
	opts []gomail.Option
	// desc is the URL without its password, for logs.
	desc string
}

// smtpTimeout bounds connecting and each SMTP command.
const smtpTimeout = 30 * time.Second

// ParseSMTPURL reads the mail.smtp_url configuration:
//
//	smtp://host[:port]                 plain SMTP, no authentication (a local relay); port 25
//	smtp://user:pass@host[:port]       STARTTLS when the server offers it, then AUTH; port 587
//	smtps://user:pass@host[:port]      TLS from the first byte (implicit TLS); port 465
//
// The query parameter starttls=required refuses a server without STARTTLS,
// starttls=none never upgrades (the default is to upgrade when offered).
// Passwords are never sent over an unencrypted connection except to
// localhost; user and password are percent-decoded.
func ParseSMTPURL(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("mail.smtp_url: %w", err)
	}
	if u.Hostname() == "" {
		return nil, errors.New("mail.smtp_url: no host")
	}
	s := &SMTP{host: u.Hostname(), opts: []gomail.Option{gomail.WithTimeout(smtpTimeout)}}
	user := u.User.Username()
	pass, _ := u.User.Password()

	policy := gomail.TLSOpportunistic
	switch q := u.Query().Get("starttls"); q {
	case "", "opportunistic":
	case "required":
		policy = gomail.TLSMandatory
	case "none":
		policy = gomail.NoTLS
	default:
		return nil, fmt.Errorf("mail.smtp_url: starttls=%s: use required, opportunistic or none", q)
	}

	switch u.Scheme {
	case "smtp":
		s.port = 25
		if user != "" {
			s.port = 587
		}
		s.opts = append(s.opts, gomail.WithTLSPolicy(policy))
	case "smtps":
		s.port = 465
		s.opts = append(s.opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("mail.smtp_url: scheme %q: use smtp:// or smtps://", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil || s.port < 1 || s.port > 65535 {
			return nil, fmt.Errorf("mail.smtp_url: port %q", p)
		}
	}
	s.opts = append(s.opts, gomail.WithPort(s.port))
	if user != "" {
		// PLAIN and LOGIN refuse to run unencrypted except to localhost,
		// so credentials never cross the network in clear text.
		s.opts = append(s.opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(user), gomail.WithPassword(pass))
	} else {
		s.opts = append(s.opts, gomail.WithSMTPAuth(gomail.SMTPAuthNoAuth))
	}
	s.desc = u.Scheme + "://" + net.JoinHostPort(s.host, strconv.Itoa(s.port))
	return s, nil
}

// String names the server without credentials.
func (s *SMTP) String() string { return s.desc }

// Send delivers m. A refusal of the recipient or of the message with a 5xx
// reply is a *PermanentError; anything else (server down, 4xx, a dropped
// connection) is worth retrying.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	msg, err := buildMsg(m)
	if err != nil {
		return &PermanentError{Err: err}
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 &&
			(se.Reason == gomail.ErrSMTPRcptTo || se.Reason == gomail.ErrSMTPData || se.Reason == gomail.ErrSMTPDataClose) {
			return &PermanentError{Err: err}
		}
		return fmt.Errorf("send via %s: %w", s.desc, err)
	}
	return nil
}

// buildMsg is m as a MIME message: a text part and an HTML alternative.
func buildMsg(m *Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(m.FromName, m.FromAddress); err != nil {
		return nil, fmt.Errorf("sender %q: %w", m.FromAddress, err)
	}
	if err := msg.AddToFormat(m.ToName, m.ToAddress); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", m.ToAddress, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.MessageID())
	msg.SetDateWithValue(m.CreatedAt)
	// Automatic mail: no out-of-office replies (RFC 3834).
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.TextBody)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTMLBody)
	return msg, nil
}
