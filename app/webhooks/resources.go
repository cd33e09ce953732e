package webhooks

import (
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/resources"
)

// Webhook payloads carry the resources of docs/api/resources.md, built by
// app/resources exactly as the internal API answers them.
type (
	licenseResource    = resources.License
	activationResource = resources.Activation
	customerResource   = resources.Customer
)

var (
	presentLicense  = resources.NewLicense
	presentCustomer = resources.NewCustomer
)

// presentActivation shapes a; a failed attempt may lack the product's
// reference, which the license then supplies.
func presentActivation(a *licensing.Activation, l *licensing.License) activationResource {
	if a.ProductReferenceID == "" && l != nil {
		c := *a
		c.ProductReferenceID = l.ProductReferenceID
		a = &c
	}
	return resources.NewActivation(a)
}
