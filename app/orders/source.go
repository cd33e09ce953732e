package orders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/jobqueue"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/plugins"
	"github.com/licensor/licensor/plugins/host"
	"github.com/licensor/licensor/plugins/sdk"
)

// ErrNotOrderPlugin is a plugin name that is not an enabled order sync
// plugin.
var ErrNotOrderPlugin = errors.New("not an enabled order sync plugin")

// Plugins reaches the order sync plugins through the plugin host.
type Plugins struct {
	ext *plugins.Service
}

// NewPlugins returns the order sync plugins of ext.
func NewPlugins(ext *plugins.Service) *Plugins { return &Plugins{ext: ext} }

// Enabled lists the enabled order sync plugins' names.
func (p *Plugins) Enabled() []string {
	var out []string
	for _, pl := range p.ext.Host().List() {
		if pl.Enabled && pl.Manifest.Kind == sdk.KindOrderSync {
			out = append(out, pl.Name)
		}
	}
	return out
}

// Resolve names the installed plugin a store webhook's {name} means: the
// plugin of that name, else the shipped "orders-<name>" one, so the short
// names of docs/api/external.md#store-webhooks (gumroad, woocommerce)
// work as well.
func (p *Plugins) Resolve(name string) string {
	if _, ok := p.ext.Host().Get(name); ok {
		return name
	}
	if pl, ok := p.ext.Host().Get("orders-" + name); ok && pl.Manifest.Kind == sdk.KindOrderSync {
		return pl.Name
	}
	return name
}

// Accepts reports whether name is an enabled order sync plugin whose
// webhook secret (app/plugins) is secret.
func (p *Plugins) Accepts(ctx context.Context, name, secret string) (bool, error) {
	pl, ok := p.ext.Host().Get(name)
	if !ok || pl.Manifest.Kind != sdk.KindOrderSync || !pl.Enabled {
		return false, nil
	}
	return p.ext.CheckWebhookSecret(ctx, name, secret)
}

// Webhook hands a request to plugin name: authentic false means 401.
func (p *Plugins) Webhook(ctx context.Context, name string, req sdk.WebhookRequest) (authentic bool, events []Event, reason string, err error) {
	pl, ok := p.ext.Host().Get(name)
	if !ok || pl.Manifest.Kind != sdk.KindOrderSync || !pl.Enabled {
		return false, nil, "", ErrNotOrderPlugin
	}
	res, err := p.ext.Host().OrderSync(name).Webhook(ctx, req)
	if err != nil {
		return false, nil, "", err
	}
	return res.Authentic, fromSDK(res.Events), res.Reason, nil
}

// Poll asks plugin name for orders since cursor; a first poll (empty
// cursor) looks back from now.
func (p *Plugins) Poll(ctx context.Context, name, cursor string, limit int, now time.Time) ([]Event, string, bool, error) {
	res, err := p.ext.Host().OrderSync(name).Poll(ctx, sdk.PollRequest{Cursor: cursor, Limit: limit, Now: now})
	if err != nil {
		return nil, "", false, err
	}
	return fromSDK(res.Events), res.NextCursor, res.More, nil
}

func fromSDK(in []sdk.OrderEvent) []Event {
	out := make([]Event, 0, len(in))
	for _, e := range in {
		ev := Event{OrderID: e.OrderID, Status: string(e.Status), CustomerName: e.Customer.Name,
			CustomerEmail: e.Customer.Email, PurchasedAt: e.PurchasedAt,
			SubscriptionID: e.SubscriptionID, RenewsOrderID: e.RenewsOrderID}
		for _, it := range e.Items {
			ev.Items = append(ev.Items, Item{SKU: it.SKU, Quantity: it.Quantity, Name: it.Name})
		}
		out = append(out, ev)
	}
	return out
}

// Enqueue adds one process_order job per event, in idb's transaction.
func Enqueue(ctx context.Context, q *jobqueue.Queue, idb bun.IDB, plugin string, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, 0, len(events))
	for _, e := range events {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		params = append(params, river.InsertManyParams{Args: jobargs.ProcessOrder{Plugin: plugin, Event: raw}})
	}
	return q.AddMany(ctx, idb, params)
}

// Poller polls every enabled order sync plugin and enqueues what it finds.
type Poller struct {
	db      bun.IDB
	queue   *jobqueue.Queue
	plugins *Plugins
	now     func() time.Time
}

// NewPoller returns a Poller; now is the clock handed to the plugins for
// their first poll's window (nil means time.Now).
func NewPoller(db bun.IDB, q *jobqueue.Queue, p *Plugins, now func() time.Time) *Poller {
	if now == nil {
		now = time.Now
	}
	return &Poller{db: db, queue: q, plugins: p, now: now}
}

// pollPages bounds the pages read from one plugin in one run.
const pollPages = 20

// PollAll polls each enabled plugin from its stored cursor; the events of
// a page and the next cursor commit together. A failing plugin does not
// stop the others; their errors are joined.
func (p *Poller) PollAll(ctx context.Context) error {
	var errs []error
	for _, name := range p.plugins.Enabled() {
		if err := p.poll(ctx, name); err != nil && !errors.Is(err, host.ErrDisabled) {
			errs = append(errs, fmt.Errorf("poll %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (p *Poller) poll(ctx context.Context, name string) error {
	for range pollPages {
		cursor, err := Cursor(ctx, p.db, name)
		if err != nil {
			return err
		}
		events, next, more, err := p.plugins.Poll(ctx, name, cursor, 100, p.now())
		if err != nil {
			return err
		}
		err = p.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := Enqueue(ctx, p.queue, tx, name, events); err != nil {
				return err
			}
			return SaveCursor(ctx, tx, name, next)
		})
		if err != nil || !more || next == cursor {
			return err
		}
	}
	return nil
}
