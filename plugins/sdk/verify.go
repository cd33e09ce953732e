package sdk

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	ordersyncv1 "github.com/licensor/licensor/plugins/proto/ordersync/v1"
)

// LicenseVerifier is what an order sync plugin implements besides OrderSync
// to verify marketplace license codes (Gumroad keys, Envato purchase codes)
// that Licensor does not know yet: on their first activation Licensor asks
// the plugin and, when it accepts, creates the local license from the sale
// (docs/api/external.md#activate step 4). Set Manifest.VerifyType to the verify_type the
// plugin serves ("gumroad"); a plugin without this interface serves none.
type LicenseVerifier interface {
	VerifyLicense(ctx context.Context, req VerifyLicenseRequest) (VerifyLicenseResult, error)
}

// VerifyLicenseRequest is a code to check.
type VerifyLicenseRequest struct {
	// Code is the license code as the buyer's software sent it.
	Code string
	// ClientName is the client_name sent with it, possibly empty.
	ClientName string
	// ProductIDs are the marketplace ids of the product being activated:
	// the SKUs the admin mapped to it for this plugin. Empty: none mapped.
	ProductIDs []string
}

// VerifyOutcome is the plugin's answer about a code.
type VerifyOutcome string

// The outcomes of VerifyLicense.
const (
	// VerifyAccepted: a good sale of one of the ProductIDs; fill Sale.
	VerifyAccepted VerifyOutcome = "accepted"
	// VerifyRefused: no such sale for these products, or it was refunded,
	// charged back or its subscription ended.
	VerifyRefused VerifyOutcome = "refused"
	// VerifyNotMapped: the plugin cannot check codes of this product (no
	// ProductIDs, or the marketplace does not know them).
	VerifyNotMapped VerifyOutcome = "not_mapped"
)

// VerifyLicenseResult is the answer to VerifyLicense. A refused code is a
// result, not an error: return an error only when the marketplace could
// not be asked (Licensor then answers "try again later").
type VerifyLicenseResult struct {
	Outcome VerifyOutcome
	// Sale is what the accepted code was sold as.
	Sale Sale
	// Reason says why the code was refused, for the log.
	Reason string
}

// Sale is an accepted code's sale: Licensor creates the local license
// from it.
type Sale struct {
	// ID is the marketplace's sale or order id, stored as the invoice.
	ID string
	// Customer is the buyer: found or created by email.
	Customer OrderCustomer
	// LicenseType is the license's type ("subscription"); empty: the
	// product's default.
	LicenseType string
	PurchasedAt time.Time
	// ExpiresAt is when the license stops working; zero: never.
	ExpiresAt time.Time
	// Uses and ParallelUses of the license (the plugin's configured
	// defaults); nil: the product's defaults.
	Uses, ParallelUses *int
	// Data is the sale as the marketplace describes it, returned as the
	// license check's "data". No personal data (names, emails) here.
	Data map[string]string
}

// ErrVerifyUnsupported is what OrderSyncClient.VerifyLicense returns for a
// plugin that serves no verify_type (it answered UNIMPLEMENTED).
var ErrVerifyUnsupported = errors.New("plugin verifies no marketplace licenses")

var outcomeToProto = map[VerifyOutcome]ordersyncv1.VerifyOutcome{
	VerifyAccepted:  ordersyncv1.VerifyOutcome_VERIFY_OUTCOME_ACCEPTED,
	VerifyRefused:   ordersyncv1.VerifyOutcome_VERIFY_OUTCOME_REFUSED,
	VerifyNotMapped: ordersyncv1.VerifyOutcome_VERIFY_OUTCOME_NOT_MAPPED,
}

var outcomeFromProto = map[ordersyncv1.VerifyOutcome]VerifyOutcome{
	ordersyncv1.VerifyOutcome_VERIFY_OUTCOME_ACCEPTED:   VerifyAccepted,
	ordersyncv1.VerifyOutcome_VERIFY_OUTCOME_REFUSED:    VerifyRefused,
	ordersyncv1.VerifyOutcome_VERIFY_OUTCOME_NOT_MAPPED: VerifyNotMapped,
}

func (s *orderSyncServer) VerifyLicense(ctx context.Context, req *ordersyncv1.VerifyLicenseRequest) (*ordersyncv1.VerifyLicenseResponse, error) {
	v, ok := s.impl.(LicenseVerifier)
	if !ok {
		return nil, status.Error(codes.Unimplemented, ErrVerifyUnsupported.Error())
	}
	res, err := v.VerifyLicense(ctx, VerifyLicenseRequest{
		Code: req.GetCode(), ClientName: req.GetClientName(), ProductIDs: req.GetProductIds(),
	})
	if err != nil {
		return nil, err
	}
	out := &ordersyncv1.VerifyLicenseResponse{Outcome: outcomeToProto[res.Outcome], Reason: res.Reason}
	if res.Outcome == VerifyAccepted {
		sale := res.Sale
		out.Sale = &ordersyncv1.Sale{
			SaleId:       sale.ID,
			Customer:     &ordersyncv1.Customer{Name: sale.Customer.Name, Email: sale.Customer.Email},
			LicenseType:  sale.LicenseType,
			Uses:         int32Ptr(sale.Uses),
			ParallelUses: int32Ptr(sale.ParallelUses),
			Data:         sale.Data,
		}
		if !sale.PurchasedAt.IsZero() {
			out.Sale.PurchasedAt = timestamppb.New(sale.PurchasedAt)
		}
		if !sale.ExpiresAt.IsZero() {
			out.Sale.ExpiresAt = timestamppb.New(sale.ExpiresAt)
		}
	}
	return out, nil
}

// VerifyLicense asks the plugin about a code; ErrVerifyUnsupported when it
// serves no verify_type. An unknown outcome comes back empty, which the
// host refuses like any bad answer.
func (c *OrderSyncClient) VerifyLicense(ctx context.Context, req VerifyLicenseRequest) (VerifyLicenseResult, error) {
	res, err := c.rpc.VerifyLicense(ctx, &ordersyncv1.VerifyLicenseRequest{
		Code: req.Code, ClientName: req.ClientName, ProductIds: req.ProductIDs,
	})
	if status.Code(err) == codes.Unimplemented {
		return VerifyLicenseResult{}, ErrVerifyUnsupported
	}
	if err != nil {
		return VerifyLicenseResult{}, err
	}
	out := VerifyLicenseResult{Outcome: outcomeFromProto[res.GetOutcome()], Reason: res.GetReason()}
	if s := res.GetSale(); s != nil {
		out.Sale = Sale{
			ID:          s.GetSaleId(),
			Customer:    OrderCustomer{Name: s.GetCustomer().GetName(), Email: s.GetCustomer().GetEmail()},
			LicenseType: s.GetLicenseType(),
			Data:        s.GetData(),
		}
		if s.PurchasedAt != nil {
			out.Sale.PurchasedAt = s.GetPurchasedAt().AsTime()
		}
		if s.ExpiresAt != nil {
			out.Sale.ExpiresAt = s.GetExpiresAt().AsTime()
		}
		if s.Uses != nil {
			n := int(s.GetUses())
			out.Sale.Uses = &n
		}
		if s.ParallelUses != nil {
			n := int(s.GetParallelUses())
			out.Sale.ParallelUses = &n
		}
	}
	return out, nil
}

func int32Ptr(n *int) *int32 {
	if n == nil || *n < 0 {
		return nil
	}
	v := int32(min(*n, 1<<30))
	return &v
}
