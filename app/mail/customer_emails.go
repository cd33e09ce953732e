package mail

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/settings"
)

// Portal paths the customer emails link to (docs/features.md#customer-portal). The portal
// pages that serve them consume the tokens with customers.ConsumeToken.
const (
	PathEmailVerify   = "/customer/email/verify"   // + /{token}
	PathPasswordReset = "/customer/password/reset" // + /{token}
	PathLogin         = "/customer/login"
	PathSettings      = "/customer/settings"
	PathLicense       = "/customer/product-licenses" // + /{id}
)

type emailConfirmationData struct {
	AppName, Name, Email, Link string
}

// EmailConfirmation sends c a link confirming address email (their email,
// or the new one of an email change): subject "Confirm your email
// address", link /customer/email/verify/{token}, valid 24 hours. The name
// it greets is PlainName's.
func (m *Mailer) EmailConfirmation(ctx context.Context, idb bun.IDB, set *settings.Values, c *customers.Customer, email string) error {
	token, err := customers.CreateToken(ctx, idb, c, customers.TokenEmailVerification, email, m.now())
	if err != nil {
		return err
	}
	// Sent to an address no one has proved yet, on a stranger's word (a
	// registration): the only text of theirs it carries is a plain name.
	name := PlainName(c.Name)
	_, err = m.send(ctx, idb, set, []draft{{
		kind: KindEmailConfirmation, toAddress: email, toName: name, subject: "Confirm your email address",
		data:       emailConfirmationData{AppName: set.AppName, Name: name, Email: email, Link: m.link(PathEmailVerify, token)},
		customerID: ptr(c.ID),
	}})
	return err
}

type welcomeData struct {
	AppName, Name, Email, ClientID string
	SetPasswordLink, LoginLink     string
}

// Welcome sends the welcome email to a customer created by an admin, the
// API, an import or an order, when send_welcome_email is on: subject
// "Welcome to <app name>", with a set-password link
// (/customer/password/reset/{token}, valid 7 days) when the account has no
// password, else a sign-in link. It is the customers.Hooks Created hook's
// email half.
func (m *Mailer) Welcome(ctx context.Context, idb bun.IDB, set *settings.Values, c *customers.Customer, hasPassword bool) error {
	if !set.SendWelcomeEmail {
		return nil
	}
	data := welcomeData{AppName: set.AppName, Name: c.Name, Email: c.Email, ClientID: c.ClientID, LoginLink: m.link(PathLogin)}
	if !hasPassword {
		token, err := customers.CreateToken(ctx, idb, c, customers.TokenPasswordSet, c.Email, m.now())
		if err != nil {
			return err
		}
		data.SetPasswordLink = m.link(PathPasswordReset, token)
	}
	_, err := m.send(ctx, idb, set, []draft{{
		kind: KindWelcome, toAddress: c.Email, toName: c.Name, subject: "Welcome to " + set.AppName,
		data: data, customerID: ptr(c.ID),
	}})
	return err
}

type passwordResetData struct {
	AppName, Name, Link string
}

// PasswordReset sends c a password reset link: subject "Reset your
// password", link /customer/password/reset/{token}, valid 60 minutes.
// Callers answer the same whether or not the account exists; this is only
// called when it does.
func (m *Mailer) PasswordReset(ctx context.Context, idb bun.IDB, set *settings.Values, c *customers.Customer) error {
	token, err := customers.CreateToken(ctx, idb, c, customers.TokenPasswordReset, c.Email, m.now())
	if err != nil {
		return err
	}
	_, err = m.send(ctx, idb, set, []draft{{
		kind: KindPasswordReset, toAddress: c.Email, toName: c.Name, subject: "Reset your password",
		data:       passwordResetData{AppName: set.AppName, Name: c.Name, Link: m.link(PathPasswordReset, token)},
		customerID: ptr(c.ID),
	}})
	return err
}

type newDeviceData struct {
	AppName, Name, When, IP, UserAgent string
	ResetLink, SettingsLink            string
}

// NewDeviceSignIn alerts c to a sign-in from a device or network not seen
// in the last 90 days, when new_device_alerts is on: subject "New sign-in
// to your account". The portal's sign-in decides what is new.
func (m *Mailer) NewDeviceSignIn(ctx context.Context, idb bun.IDB, set *settings.Values, c *customers.Customer, ip, userAgent string, at time.Time) error {
	if !set.NewDeviceAlerts {
		return nil
	}
	if userAgent == "" {
		userAgent = "unknown"
	}
	_, err := m.send(ctx, idb, set, []draft{{
		kind: KindNewDevice, toAddress: c.Email, toName: c.Name, subject: "New sign-in to your account",
		data: newDeviceData{
			AppName: set.AppName, Name: c.Name, IP: ip, UserAgent: userAgent,
			When:         at.In(set.Location()).Format("2006-01-02 15:04 MST"),
			ResetLink:    m.link("/customer/password/forgot"),
			SettingsLink: m.link(PathSettings),
		},
		customerID: ptr(c.ID),
	}})
	if err != nil {
		return fmt.Errorf("new-device alert: %w", err)
	}
	return nil
}

type emailChangedData struct {
	AppName, Name, OldEmail, NewEmail, ResetLink string
}

// EmailChanged tells the previous address of c that the account's email
// is now newEmail (sent when the confirmation link of an email change is
// opened): subject "Your email address was changed", with the forgotten
// password link in case the change was not theirs.
func (m *Mailer) EmailChanged(ctx context.Context, idb bun.IDB, set *settings.Values, c *customers.Customer, oldEmail, newEmail string) error {
	_, err := m.send(ctx, idb, set, []draft{{
		kind: KindEmailChanged, toAddress: oldEmail, toName: c.Name, subject: "Your email address was changed",
		data: emailChangedData{AppName: set.AppName, Name: c.Name, OldEmail: oldEmail, NewEmail: newEmail,
			ResetLink: m.link("/customer/password/forgot")},
		customerID: ptr(c.ID),
	}})
	if err != nil {
		return fmt.Errorf("email changed notice: %w", err)
	}
	return nil
}

// plainNameMax bounds the name a confirmation email greets.
const plainNameMax = 40

// plainWord is a word of a person's name: letters, inner apostrophes or
// hyphens, and an initial's final dot. Compiled at first use: its Unicode
// classes cost a few milliseconds, which every start would pay.
var plainWord = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[\p{L}\p{M}]+(['’-][\p{L}\p{M}]+)*\.?$`)
})

// PlainName is name when it is a plain person's name — at most 40
// characters of words of letters separated by single spaces: no digits,
// no links, no addresses, no punctuation that could make a sentence — and
// "" otherwise (the email then greets no one). A registration's name is a
// stranger's text; this is all of it an email to an unproven address
// repeats (docs/deploy.md#registration-and-forgotten-passwords).
func PlainName(name string) string {
	if name == "" || utf8.RuneCountInString(name) > plainNameMax {
		return ""
	}
	for _, w := range strings.Split(name, " ") {
		if !plainWord().MatchString(w) {
			return ""
		}
	}
	return name
}
