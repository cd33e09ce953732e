package sdk

import (
	"context"
	"net/http"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	ordersyncv1 "github.com/licensor/licensor/plugins/proto/ordersync/v1"
)

// OrderSync turns a store's order webhooks and/or its order listing into
// OrderEvents. Licensor does the rest: SKU → product mapping, customers,
// licenses, emails, blocking on refund, each order once.
type OrderSync interface {
	Configurable
	// Webhook authenticates and reads one request the store sent. A
	// request that is not authentic is a WebhookResult with Authentic
	// false, not an error.
	Webhook(ctx context.Context, req WebhookRequest) (WebhookResult, error)
	// Poll lists orders changed since req.Cursor (empty: the plugin's
	// choice of start, counted back from req.Now), at most req.Limit
	// events.
	Poll(ctx context.Context, req PollRequest) (PollResult, error)
}

// WebhookRequest is a request to the plugin's webhook URL, as received.
type WebhookRequest struct {
	Method string
	Header http.Header
	// Query is the raw query string, without "?".
	Query string
	// Body is the raw body: compute signatures over it.
	Body []byte
}

// WebhookResult is what a webhook request held.
type WebhookResult struct {
	Authentic bool
	Events    []OrderEvent
	// Reason says why the request was refused or ignored, for the log.
	Reason string
}

// PollRequest asks for one page of orders.
type PollRequest struct {
	// Cursor is the NextCursor of the previous poll; empty on the first.
	Cursor string
	// Limit is the most events wanted (the plugin may return fewer).
	Limit int
	// Now is the host's clock. A first poll's look-back ("the last three
	// days") counts from it, never from the plugin's own clock, so the
	// host (and its tests) decide what "now" is.
	Now time.Time
}

// PollResult is one page of orders.
type PollResult struct {
	Events     []OrderEvent
	NextCursor string
	More       bool
}

// OrderStatus is where an order stands.
type OrderStatus string

// The order statuses Licensor acts on.
const (
	OrderPaid      OrderStatus = "paid"
	OrderRefunded  OrderStatus = "refunded"
	OrderCancelled OrderStatus = "cancelled"
	// OrderRenewed is a subscription's recurring charge: Licensor renews
	// the licenses of the subscription's first order on the same keys.
	OrderRenewed OrderStatus = "renewed"
)

// OrderEvent is one order in one status.
type OrderEvent struct {
	OrderID     string
	Status      OrderStatus
	Customer    OrderCustomer
	Items       []OrderItem
	PurchasedAt time.Time
	// SubscriptionID is the store's subscription the order belongs to,
	// when it is one's (its first order and its renewals).
	SubscriptionID string
	// RenewsOrderID is, on a renewal, the subscription's first order's
	// ID when the store names it (else Licensor finds that order by
	// SubscriptionID).
	RenewsOrderID string
}

// OrderCustomer is who bought.
type OrderCustomer struct {
	Name  string
	Email string
}

// OrderItem is one line of an order.
type OrderItem struct {
	SKU      string
	Quantity int
	// Name is the store's product name, for the log.
	Name string
}

// ServeOrderSync serves o as an order sync plugin described by m.
func ServeOrderSync(m Manifest, o OrderSync) {
	serve(m, KindOrderSync, &orderSyncPlugin{impl: o})
}

type orderSyncPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl OrderSync
}

func (p *orderSyncPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	ordersyncv1.RegisterOrderSyncServer(s, &orderSyncServer{impl: p.impl})
	return nil
}

func (p *orderSyncPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &OrderSyncClient{rpc: ordersyncv1.NewOrderSyncClient(c)}, nil
}

var statusToProto = map[OrderStatus]ordersyncv1.OrderStatus{
	OrderPaid:      ordersyncv1.OrderStatus_ORDER_STATUS_PAID,
	OrderRefunded:  ordersyncv1.OrderStatus_ORDER_STATUS_REFUNDED,
	OrderCancelled: ordersyncv1.OrderStatus_ORDER_STATUS_CANCELLED,
	OrderRenewed:   ordersyncv1.OrderStatus_ORDER_STATUS_RENEWED,
}

var statusFromProto = map[ordersyncv1.OrderStatus]OrderStatus{
	ordersyncv1.OrderStatus_ORDER_STATUS_PAID:      OrderPaid,
	ordersyncv1.OrderStatus_ORDER_STATUS_REFUNDED:  OrderRefunded,
	ordersyncv1.OrderStatus_ORDER_STATUS_CANCELLED: OrderCancelled,
	ordersyncv1.OrderStatus_ORDER_STATUS_RENEWED:   OrderRenewed,
}

func eventsToProto(events []OrderEvent) []*ordersyncv1.OrderEvent {
	out := make([]*ordersyncv1.OrderEvent, 0, len(events))
	for _, e := range events {
		pe := &ordersyncv1.OrderEvent{
			OrderId:        e.OrderID,
			Status:         statusToProto[e.Status],
			Customer:       &ordersyncv1.Customer{Name: e.Customer.Name, Email: e.Customer.Email},
			SubscriptionId: e.SubscriptionID, RenewsOrderId: e.RenewsOrderID,
		}
		if !e.PurchasedAt.IsZero() {
			pe.PurchasedAt = timestamppb.New(e.PurchasedAt)
		}
		for _, it := range e.Items {
			pe.Items = append(pe.Items, &ordersyncv1.Item{Sku: it.SKU, Quantity: int32(it.Quantity), Name: it.Name})
		}
		out = append(out, pe)
	}
	return out
}

// eventsFromProto converts the plugin's events; an unknown status becomes
// the empty OrderStatus, which the host refuses like any bad input.
func eventsFromProto(events []*ordersyncv1.OrderEvent) []OrderEvent {
	out := make([]OrderEvent, 0, len(events))
	for _, pe := range events {
		e := OrderEvent{
			OrderID:        pe.GetOrderId(),
			Status:         statusFromProto[pe.GetStatus()],
			Customer:       OrderCustomer{Name: pe.GetCustomer().GetName(), Email: pe.GetCustomer().GetEmail()},
			SubscriptionID: pe.GetSubscriptionId(), RenewsOrderID: pe.GetRenewsOrderId(),
		}
		if pe.GetPurchasedAt() != nil {
			e.PurchasedAt = pe.GetPurchasedAt().AsTime()
		}
		for _, it := range pe.GetItems() {
			e.Items = append(e.Items, OrderItem{SKU: it.GetSku(), Quantity: int(it.GetQuantity()), Name: it.GetName()})
		}
		out = append(out, e)
	}
	return out
}

type orderSyncServer struct {
	ordersyncv1.UnimplementedOrderSyncServer
	impl OrderSync
}

func (s *orderSyncServer) Configure(ctx context.Context, req *ordersyncv1.ConfigureRequest) (*ordersyncv1.ConfigureResponse, error) {
	fe, err := configure(ctx, s.impl, req.GetValues())
	if err != nil {
		return nil, err
	}
	return &ordersyncv1.ConfigureResponse{FieldErrors: fe}, nil
}

func (s *orderSyncServer) Webhook(ctx context.Context, req *ordersyncv1.WebhookRequest) (*ordersyncv1.WebhookResponse, error) {
	h := http.Header{}
	for _, kv := range req.GetHeaders() {
		h.Add(kv.GetName(), kv.GetValue())
	}
	res, err := s.impl.Webhook(ctx, WebhookRequest{Method: req.GetMethod(), Header: h, Query: req.GetQuery(), Body: req.GetBody()})
	if err != nil {
		return nil, err
	}
	return &ordersyncv1.WebhookResponse{Authentic: res.Authentic, Events: eventsToProto(res.Events), Reason: res.Reason}, nil
}

func (s *orderSyncServer) Poll(ctx context.Context, req *ordersyncv1.PollRequest) (*ordersyncv1.PollResponse, error) {
	now := time.Now()
	if req.GetNow() != nil {
		now = req.GetNow().AsTime()
	} // else an older host that sends no clock: the plugin's is the best there is.
	res, err := s.impl.Poll(ctx, PollRequest{Cursor: req.GetCursor(), Limit: int(req.GetLimit()), Now: now})
	if err != nil {
		return nil, err
	}
	return &ordersyncv1.PollResponse{Events: eventsToProto(res.Events), NextCursor: res.NextCursor, More: res.More}, nil
}

// OrderSyncClient is the host's end of an order sync plugin.
type OrderSyncClient struct {
	rpc ordersyncv1.OrderSyncClient
}

// Configure sends the settings; refused values come back as FieldErrors.
func (c *OrderSyncClient) Configure(ctx context.Context, cfg Config) error {
	res, err := c.rpc.Configure(ctx, &ordersyncv1.ConfigureRequest{Values: cfg})
	if err != nil {
		return err
	}
	return fieldErrorsOrNil(res.GetFieldErrors())
}

// Webhook hands a received request to the plugin.
func (c *OrderSyncClient) Webhook(ctx context.Context, req WebhookRequest) (WebhookResult, error) {
	preq := &ordersyncv1.WebhookRequest{Method: req.Method, Query: req.Query, Body: req.Body}
	for name, values := range req.Header {
		for _, v := range values {
			preq.Headers = append(preq.Headers, &ordersyncv1.Header{Name: name, Value: v})
		}
	}
	res, err := c.rpc.Webhook(ctx, preq)
	if err != nil {
		return WebhookResult{}, err
	}
	return WebhookResult{Authentic: res.GetAuthentic(), Events: eventsFromProto(res.GetEvents()), Reason: res.GetReason()}, nil
}

// Poll asks the plugin for orders since req.Cursor; a zero req.Now sends
// no clock.
func (c *OrderSyncClient) Poll(ctx context.Context, req PollRequest) (PollResult, error) {
	preq := &ordersyncv1.PollRequest{Cursor: req.Cursor, Limit: int32(min(req.Limit, 1<<30))}
	if !req.Now.IsZero() {
		preq.Now = timestamppb.New(req.Now)
	}
	res, err := c.rpc.Poll(ctx, preq)
	if err != nil {
		return PollResult{}, err
	}
	return PollResult{Events: eventsFromProto(res.GetEvents()), NextCursor: res.GetNextCursor(), More: res.GetMore()}, nil
}
