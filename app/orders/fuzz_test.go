package orders

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/licensor/licensor/plugins/sdk"
)

func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// FuzzEventCheck hands the host what an order sync plugin may answer
// (any strings, any quantities; gRPC only guarantees UTF-8) through
// fromSDK and Event.Check: an event Check accepts must be one the
// processor can store and act on, and Check's verdict must be storable
// as the order's logged error.
func FuzzEventCheck(f *testing.F) {
	f.Add("42", "paid", "Ann", "ann@example.com", "PRO", 2, "Pro", "", 0, int64(1714557600))
	f.Add("42", "refunded", "", "", "", 0, "", "", 0, int64(0))
	f.Add("", "paid", "Ann", "ann@example.com", "PRO", 1, "", "", 0, int64(0))
	f.Add("42", "shipped", "Ann", "ann@example.com", "PRO", 1, "", "", 0, int64(0))
	f.Add("4\x002", "paid", "A\x00nn", "ann@example.com", "P\x00RO", 1, "", "X", 100, int64(-1))
	f.Add("42", "paid", "Ann", "Ann <ann@example.com>", "PRO", 101, "", "PRO2", 100, int64(253402300800))
	f.Fuzz(func(t *testing.T, orderID, status, name, email, sku string, qty int, itemName, sku2 string, qty2 int, unix int64) {
		in := sdk.OrderEvent{OrderID: orderID, Status: sdk.OrderStatus(status),
			Customer:    sdk.OrderCustomer{Name: name, Email: email},
			Items:       []sdk.OrderItem{{SKU: sku, Quantity: qty, Name: itemName}},
			PurchasedAt: time.Unix(unix, 0)}
		if sku2 != "" {
			in.Items = append(in.Items, sdk.OrderItem{SKU: sku2, Quantity: qty2})
		}
		evs := fromSDK([]sdk.OrderEvent{in})
		if len(evs) != 1 {
			t.Fatalf("%d events from one", len(evs))
		}
		e := evs[0]
		msg := e.Check()
		if !storable(msg) || len(msg) > maxErrorLength+200 {
			t.Fatalf("verdict %q cannot be logged", msg)
		}
		if msg != "" {
			return
		}
		if !storable(e.OrderID) || strings.TrimSpace(e.OrderID) == "" || len(e.OrderID) > maxOrderIDLen {
			t.Fatalf("order ID %q accepted", e.OrderID)
		}
		if e.Status != StatusPaid && e.Status != StatusRefunded && e.Status != StatusCancelled {
			t.Fatalf("status %q accepted", e.Status)
		}
		if e.Status != StatusPaid {
			return
		}
		if !storable(e.CustomerEmail) || !storable(e.CustomerName) || !strings.Contains(e.CustomerEmail, "@") {
			t.Fatalf("customer %q <%q> accepted", e.CustomerName, e.CustomerEmail)
		}
		total := 0
		for _, it := range e.Items {
			if !storable(it.SKU) || !storable(it.Name) || it.Quantity < 1 || it.Quantity > MaxQuantity {
				t.Fatalf("item %+v accepted", it)
			}
			total += it.Quantity
		}
		if total > MaxLicenses {
			t.Fatalf("%d licenses accepted", total)
		}
	})
}
