package mail

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/settings"
)

// Mailer renders emails and queues them. Its methods take the caller's
// transaction: the message row and its send_mail job commit with the change
// that causes them, or not at all.
type Mailer struct {
	queue   *jobqueue.Queue
	tmpl    func() (*templates, error) // parsed at the first email
	baseURL string
	host    string
	now     func() time.Time
}

// Options configure a Mailer.
type Options struct {
	Queue *jobqueue.Queue
	// Views holds emails/ (views.FS).
	Views fs.FS
	// BaseURL is Licensor's public address (config base_url); links in
	// emails are built on it and the default sender is no-reply@ its host.
	BaseURL string
	Now     func() time.Time
}

// NewMailer returns a Mailer. Its templates parse at its first email,
// not at start-up: a start sends none, and a broken set fails that email.
func NewMailer(o Options) (*Mailer, error) {
	if o.Queue == nil {
		return nil, errors.New("mail: a job queue is required")
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("mail: base url %q is not absolute", o.BaseURL)
	}
	if o.Views == nil {
		return nil, errors.New("mail: the views (emails/) are required")
	}
	views := o.Views
	if o.Now == nil {
		o.Now = time.Now
	}
	tmpl := sync.OnceValues(func() (*templates, error) { return parseTemplates(views) })
	return &Mailer{queue: o.Queue, tmpl: tmpl, baseURL: strings.TrimSuffix(o.BaseURL, "/"), host: u.Hostname(), now: o.Now}, nil
}

// draft is one email to queue.
type draft struct {
	kind       string
	toAddress  string
	toName     string
	subject    string
	data       any
	customerID *int64
	licenseID  *int64
}

// link is the absolute URL of a path on this installation; segments are
// path-escaped and appended.
func (m *Mailer) link(path string, segments ...string) string {
	var b strings.Builder
	b.WriteString(m.baseURL)
	b.WriteString(path)
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// send renders drafts, stores them as queued messages and enqueues one
// send_mail job each, all in idb. It returns the message ids.
func (m *Mailer) send(ctx context.Context, idb bun.IDB, set *settings.Values, drafts []draft) ([]int64, error) {
	if len(drafts) == 0 {
		return nil, nil
	}
	tmpl, err := m.tmpl()
	if err != nil {
		return nil, err
	}
	from, fromName := set.SenderAddress(m.host), set.SenderName()
	now := m.now()
	rows := make([]Message, len(drafts))
	for i, d := range drafts {
		html, text, err := tmpl.render(d.kind, layoutData{AppName: set.AppName, BaseURL: m.baseURL, Subject: d.subject}, d.data)
		if err != nil {
			return nil, err
		}
		rows[i] = Message{
			Kind: d.kind, FromAddress: from, FromName: fromName, ToAddress: d.toAddress, ToName: d.toName,
			Subject: d.subject, HTMLBody: html, TextBody: text, Status: StatusQueued,
			CustomerID: d.customerID, LicenseID: d.licenseID, CreatedAt: now, UpdatedAt: now,
		}
	}
	if _, err := idb.NewInsert().Model(&rows).Returning("id, uid").Exec(ctx); err != nil {
		return nil, fmt.Errorf("queue %d emails: %w", len(rows), err)
	}
	ids := make([]int64, len(rows))
	params := make([]river.InsertManyParams, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
		params[i] = river.InsertManyParams{Args: jobargs.SendMail{MessageID: r.ID}}
	}
	if err := m.queue.AddMany(ctx, idb, params); err != nil {
		return nil, err
	}
	return ids, nil
}

// dateLayout shows dates as the product's Y-m-d outputs do.
const dateLayout = "2006-01-02"

// date formats t as a date in the timezone setting, or none when t is nil.
func date(set *settings.Values, t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.In(set.Location()).Format(dateLayout)
}

func ptr[T any](v T) *T { return &v }
