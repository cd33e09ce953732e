package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/licensor/licensor/plugins/sdk"
)

// defaultAPIBase is Gumroad's API; tests point api_base at a fake.
const defaultAPIBase = "https://api.gumroad.com"

// maxProductTries bounds the products one code is looked up for.
const maxProductTries = 5

// verifyConfig is what license verification needs of the settings.
type verifyConfig struct {
	apiBase, accessToken string
	uses, parallelUses   *int
}

// readVerifyConfig reads the verification settings, adding any refusal
// to bad.
func readVerifyConfig(cfg sdk.Config, bad sdk.FieldErrors) verifyConfig {
	v := verifyConfig{
		apiBase:     strings.TrimRight(cfg.String("api_base", defaultAPIBase), "/"),
		accessToken: cfg.String("access_token", ""),
	}
	if u, err := url.Parse(v.apiBase); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad["api_base"] = "Enter an http(s) URL."
	}
	for field, dst := range map[string]**int{"default_uses": &v.uses, "default_parallel_uses": &v.parallelUses} {
		s := cfg.String(field, "")
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			bad[field] = "Enter a whole number from 0, or leave empty for the product's default."
			continue
		}
		*dst = &n
	}
	return v
}

// purchase is what Gumroad's license API says of a sale.
type purchase struct {
	SaleID                  string  `json:"sale_id"`
	Email                   string  `json:"email"`
	FullName                string  `json:"full_name"`
	CreatedAt               string  `json:"created_at"`
	Refunded                bool    `json:"refunded"`
	Chargebacked            bool    `json:"chargebacked"`
	Disputed                bool    `json:"disputed"`
	SubscriptionID          string  `json:"subscription_id"`
	SubscriptionEndedAt     *string `json:"subscription_ended_at"`
	SubscriptionFailedAt    *string `json:"subscription_failed_at"`
	SubscriptionCancelledAt *string `json:"subscription_cancelled_at"`
}

// personal are the purchase's keys that never go into the sale's data.
var personal = map[string]bool{"email": true, "full_name": true, "purchaser_id": true, "ip_country": true, "custom_fields": true}

// VerifyLicense checks a Gumroad license key with POST /v2/licenses/verify
// for each of the product's SKUs (a permalink, or a product ID, which
// ends in "=="), without incrementing Gumroad's uses count.
func (g *gumroad) VerifyLicense(ctx context.Context, req sdk.VerifyLicenseRequest) (sdk.VerifyLicenseResult, error) {
	g.mu.RLock()
	cfg, configured := g.verify, g.secret != ""
	g.mu.RUnlock()
	if !configured {
		return sdk.VerifyLicenseResult{}, fmt.Errorf("orders-gumroad is not configured")
	}
	if len(req.ProductIDs) == 0 {
		return sdk.VerifyLicenseResult{Outcome: sdk.VerifyNotMapped}, nil
	}
	code := strings.TrimSpace(req.Code)
	for _, id := range req.ProductIDs[:min(len(req.ProductIDs), maxProductTries)] {
		p, raw, found, err := g.lookup(ctx, cfg, id, code)
		if err != nil {
			return sdk.VerifyLicenseResult{}, err
		}
		if !found {
			continue
		}
		switch {
		case p.Refunded:
			return refused("refunded"), nil
		case p.Chargebacked, p.Disputed:
			return refused("charged back or disputed"), nil
		case p.SubscriptionEndedAt != nil, p.SubscriptionFailedAt != nil:
			return refused("subscription ended"), nil
		}
		return sdk.VerifyLicenseResult{Outcome: sdk.VerifyAccepted, Sale: sale(p, raw, cfg)}, nil
	}
	return refused("no such license for the product"), nil
}

func refused(reason string) sdk.VerifyLicenseResult {
	return sdk.VerifyLicenseResult{Outcome: sdk.VerifyRefused, Reason: reason}
}

// lookup asks Gumroad about code for one product: found false when
// Gumroad does not know the key for it.
func (g *gumroad) lookup(ctx context.Context, cfg verifyConfig, productID, code string) (purchase, map[string]any, bool, error) {
	form := url.Values{"license_key": {code}, "increment_uses_count": {"false"}}
	if strings.HasSuffix(productID, "==") {
		form.Set("product_id", productID)
	} else {
		form.Set("product_permalink", productID)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.apiBase+"/v2/licenses/verify", strings.NewReader(form.Encode()))
	if err != nil {
		return purchase{}, nil, false, err
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cfg.accessToken != "" {
		hreq.Header.Set("Authorization", "Bearer "+cfg.accessToken)
	}
	res, err := g.http.Do(hreq)
	if err != nil {
		return purchase{}, nil, false, fmt.Errorf("gumroad: %w", err)
	}
	defer res.Body.Close()
	var out struct {
		Success  bool            `json:"success"`
		Uses     int             `json:"uses"`
		Message  string          `json:"message"`
		Purchase json.RawMessage `json:"purchase"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 256<<10)).Decode(&out); err != nil {
		return purchase{}, nil, false, fmt.Errorf("gumroad answered %s, unreadable: %w", res.Status, err)
	}
	switch {
	case res.StatusCode == http.StatusNotFound || (res.StatusCode == http.StatusOK && !out.Success):
		return purchase{}, nil, false, nil
	case res.StatusCode != http.StatusOK:
		return purchase{}, nil, false, fmt.Errorf("gumroad answered %s: %s", res.Status, out.Message)
	}
	var p purchase
	var raw map[string]any
	if err := json.Unmarshal(out.Purchase, &p); err != nil {
		return purchase{}, nil, false, fmt.Errorf("gumroad: unreadable purchase: %w", err)
	}
	if err := json.Unmarshal(out.Purchase, &raw); err != nil {
		return purchase{}, nil, false, fmt.Errorf("gumroad: unreadable purchase: %w", err)
	}
	raw["uses"] = out.Uses
	return p, raw, true, nil
}

// sale is what Licensor creates the license from.
func sale(p purchase, raw map[string]any, cfg verifyConfig) sdk.Sale {
	s := sdk.Sale{
		ID:       p.SaleID,
		Customer: sdk.OrderCustomer{Name: strings.TrimSpace(p.FullName), Email: strings.TrimSpace(p.Email)},
		Uses:     cfg.uses, ParallelUses: cfg.parallelUses,
		Data: map[string]string{},
	}
	if p.SubscriptionID != "" {
		s.LicenseType = "subscription"
	}
	if t, err := time.Parse(time.RFC3339, p.CreatedAt); err == nil {
		s.PurchasedAt = t.UTC()
	}
	for k, v := range raw {
		if personal[k] || v == nil || len(s.Data) >= 40 {
			continue
		}
		switch v := v.(type) {
		case string:
			s.Data[k] = v
		case bool, float64, int:
			s.Data[k] = fmt.Sprint(v)
		}
	}
	return s
}
