package external

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/licensing"
)

// heartbeatResponse answers a heartbeat (docs/api/external.md#heartbeat).
type heartbeatResponse struct {
	Status     bool           `json:"status"`
	IsActive   bool           `json:"is_active"`
	Message    string         `json:"message"`
	StatusCode string         `json:"status_code,omitempty"`
	Data       *heartbeatData `json:"data"`
}

// heartbeatData: the interval in seconds and the deadline of the next
// heartbeat, both null when the activation is asked for none.
type heartbeatData struct {
	HeartbeatInterval   *int    `json:"heartbeat_interval"`
	NextHeartbeatBefore *string `json:"next_heartbeat_before"`
}

// heartbeat is docs/api/external.md#heartbeat (modern path only): the
// activation token keeps the activation alive. It writes nothing on the
// request path (licensing.Service.Heartbeat).
func (h *handlers) heartbeat(c fiber.Ctx, r *pipeline.Request) error {
	productRef, proof, err := h.readProof(c)
	if err != nil {
		return err
	}
	var tok checkedToken
	if proof.token != "" {
		tok = h.tokens.check(proof.token, r.Settings)
	}
	if err := licensing.CheckBlacklists(r.Settings, "", proof.clientName); err != nil {
		return err
	}
	product, err := h.Products.ActiveByRef(c.Context(), productRef)
	if f, ok := productFailure(err); ok {
		return heartbeatFailure(c, f)
	}
	if err != nil {
		return err
	}
	switch {
	case proof.token == "":
		return heartbeatFailure(c, licensing.FailDataRequired)
	case !tok.ok || tok.legacy:
		// A LicenseBox token names no activation: it cannot heartbeat.
		return heartbeatFailure(c, licensing.FailVerifyInvalid)
	}
	v, err := h.Licensing.Heartbeat(c.Context(), h.DB, r.Settings, licensing.VerifyRequest{
		Product: product, ActivationID: tok.activationID, TokenProductRef: tok.productRef,
		ClientName: proof.clientName, Caller: r.Caller, Grace: true,
	})
	if err != nil {
		return err
	}
	if v.Failure != nil {
		return heartbeatFailure(c, *v.Failure)
	}
	return c.JSON(heartbeatResponse{Status: true, IsActive: true, Message: licensing.MessageHeartbeat, Data: &heartbeatData{
		HeartbeatInterval: intervalOrNull(v.Policy), NextHeartbeatBefore: pipeline.TimestampOrNull(v.NextBefore),
	}})
}

func heartbeatFailure(c fiber.Ctx, f licensing.Failure) error {
	setOutcome(c, f)
	return c.JSON(heartbeatResponse{Message: f.Message, StatusCode: f.StatusCode})
}

// intervalOrNull is a policy's interval, nil when no heartbeats are asked.
func intervalOrNull(p licensing.HeartbeatPolicy) *int {
	if !p.On() {
		return nil
	}
	n := p.Interval
	return &n
}

// checkout is docs/api/external.md#check-out-and-check-in: activate, for a
// floating license only, answering the seat's lease.
func (h *handlers) checkout(c fiber.Ctx, r *pipeline.Request) error {
	return h.activateAs(c, r, modernPaths, true)
}

// checkin gives a floating seat back: deactivate by token, with reason
// checked_in.
func (h *handlers) checkin(c fiber.Ctx, r *pipeline.Request) error {
	productRef, proof, err := h.readProof(c)
	if err != nil {
		return err
	}
	var tok checkedToken
	if proof.token != "" {
		tok = h.tokens.check(proof.token, r.Settings)
	}
	product, err := h.Products.ByRef(c.Context(), productRef)
	if f, ok := productFailure(err); ok {
		return deactivateFailure(c, f)
	}
	if err != nil {
		return err
	}
	var failure *licensing.Failure
	switch {
	case proof.token == "":
		failure = &licensing.FailDataRequired
	case !tok.ok || tok.legacy:
		failure = &licensing.FailVerifyInvalid
	default:
		failure, err = h.Licensing.CheckIn(c.Context(), h.DB, licensing.VerifyRequest{
			Product: product, ActivationID: tok.activationID, TokenProductRef: tok.productRef,
			ClientName: proof.clientName, Caller: r.Caller,
		})
	}
	if err != nil {
		return err
	}
	if failure != nil {
		return deactivateFailure(c, *failure)
	}
	return c.JSON(deactivateResponse{Status: true, IsActive: true, Message: licensing.MessageCheckedIn})
}
