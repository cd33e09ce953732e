package internalapi

import "github.com/licensor/licensor/app/resources"

// The resources of docs/api/resources.md live in app/resources, shared with webhook
// payloads; these names keep the handlers short.
type (
	productResource    = resources.Product
	licenseResource    = resources.License
	activationResource = resources.Activation
	customerResource   = resources.Customer
	versionResource    = resources.Version
)

var (
	presentProduct    = resources.NewProduct
	presentLicense    = resources.NewLicense
	presentActivation = resources.NewActivation
	presentCustomer   = resources.NewCustomer
	presentVersion    = resources.NewVersion
)
