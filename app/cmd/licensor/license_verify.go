package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/licensor/licensor/app/signing"
)

// clockSkew is how far in the future a file's issued_at may be before the
// machine's clock is taken for turned back (docs/api/verifying.md#clock-tampering).
const clockSkew = 5 * time.Minute

// errRefused is a license file that verify refuses; what is wrong was printed.
var errRefused = errors.New("license file refused")

// runLicenseVerify checks a license file offline as a client does
// (docs/api/verifying.md): the signature with the instance's public keys
// (from the database) or the keys given with --key, the machine with
// --fingerprint for a file of an offline activation, the file's time
// against the clock, and its expiry and offline validity; then it prints
// the file's content. It exits 1 when it refuses the file.
func runLicenseVerify(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "license verify", "license verify FILE [--fingerprint F] [--key KEY]... [--config FILE]")
	fingerprint := fs.String("fingerprint", "", "the machine's fingerprint: the file must be an offline activation's file bound to it")
	var keys stringList
	fs.Var(&keys, "key", "a public key to trust (repeatable): base64 of the 32-byte Ed25519 key, or a file holding GET /api/external/public-keys's JSON; default: the instance's keys (needs the database)")
	pos, err := parseFlagsAndArgs(fs, c, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(c.stderr, "license verify needs FILE")
		fs.Usage()
		return errUsage
	}
	file, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	trusted, err := verifyKeys(ctx, c, keys)
	if err != nil {
		return err
	}
	var kid string
	lf, err := signing.VerifyLicenseFile(file, func(id string) (ed25519.PublicKey, bool) {
		kid = id
		k, ok := trusted[id]
		return k, ok
	})
	switch {
	case errors.Is(err, signing.ErrUnknownKey):
		fmt.Fprintf(c.stdout, "REFUSED: signed by key %s, which is not one of the keys trusted.\n", kid)
		return errRefused
	case err != nil:
		fmt.Fprintln(c.stdout, "REFUSED: not a license file, or its signature does not verify.")
		return errRefused
	}
	printLicenseFile(c, lf, kid)

	now := time.Now()
	var problems []string
	if lf.IssuedAt.After(now.Add(clockSkew)) {
		problems = append(problems, fmt.Sprintf("issued at %s, in this machine's future: its clock is behind or was turned back", stamp(lf.IssuedAt)))
	}
	if lf.ExpiresAt != nil && !now.Before(*lf.ExpiresAt) {
		problems = append(problems, "the license expired at "+stamp(*lf.ExpiresAt))
	}
	switch o := lf.Offline; {
	case o != nil && !now.Before(o.ValidUntil):
		problems = append(problems, "its offline validity ended at "+stamp(o.ValidUntil))
	case o != nil && *fingerprint != "" && o.Fingerprint != *fingerprint:
		problems = append(problems, fmt.Sprintf("it is bound to machine %q, not %q", o.Fingerprint, *fingerprint))
	case o == nil && *fingerprint != "":
		problems = append(problems, "it is not bound to a machine (not an offline activation's file)")
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(c.stdout, "REFUSED: "+p+".")
		}
		return errRefused
	}
	if lf.Offline != nil && *fingerprint == "" {
		fmt.Fprintln(c.stdout, "OK (signature and dates); pass --fingerprint to check the machine it is bound to.")
		return nil
	}
	fmt.Fprintln(c.stdout, "OK")
	return nil
}

// verifyKeys are the public keys to check with, by key id: those given,
// else every key of the instance's database (retired ones included).
func verifyKeys(ctx context.Context, c *cli, given []string) (map[string]ed25519.PublicKey, error) {
	out := map[string]ed25519.PublicKey{}
	add := func(b64 string) error {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return fmt.Errorf("%q is not base64 of a 32-byte Ed25519 public key", b64)
		}
		out[signing.KeyID(raw)] = raw
		return nil
	}
	for _, k := range given {
		if data, err := os.ReadFile(k); err == nil {
			var list signing.PublicKeysJSON
			if err := json.Unmarshal(data, &list); err != nil || len(list.Data) == 0 {
				return nil, fmt.Errorf("%s does not hold the public keys' JSON ({\"data\":[…]})", k)
			}
			for _, pk := range list.Data {
				if err := add(pk.PublicKey); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := add(k); err != nil {
			return nil, err
		}
	}
	if len(given) > 0 {
		return out, nil
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	d, err := openDatabase(ctx, cfg, newLogger(c.stderr, cfg.Log))
	if err != nil {
		return nil, err
	}
	defer d.close()
	keys, err := signing.List(ctx, d.Bun)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		out[k.KID] = k.Public
	}
	return out, nil
}

func printLicenseFile(c *cli, lf signing.LicenseFile, kid string) {
	w := c.stdout
	opt := func(s *string) string {
		if s == nil || *s == "" {
			return "—"
		}
		return *s
	}
	date := func(t *time.Time, none string) string {
		if t == nil {
			return none
		}
		return stamp(*t)
	}
	fmt.Fprintf(w, "Signature:     valid (key %s)\n", kid)
	fmt.Fprintf(w, "License code:  %s\n", lf.LicenseCode)
	fmt.Fprintf(w, "Product:       %s (%s)\n", lf.ProductName, lf.ProductRef)
	fmt.Fprintf(w, "Customer:      %s, %s\n", opt(lf.ClientID), opt(lf.Email))
	fmt.Fprintf(w, "Type:          %s\n", opt(lf.Type))
	fmt.Fprintf(w, "Expires:       %s\n", date(lf.ExpiresAt, "never"))
	fmt.Fprintf(w, "Updates until: %s\n", date(lf.UpdatesUntil, "—"))
	fmt.Fprintf(w, "Support until: %s\n", date(lf.SupportUntil, "—"))
	if lf.ParallelUses != nil {
		fmt.Fprintf(w, "Parallel uses: %d\n", *lf.ParallelUses)
	} else {
		fmt.Fprintln(w, "Parallel uses: unlimited")
	}
	if len(lf.Domains) > 0 {
		fmt.Fprintf(w, "Domains:       %s\n", strings.Join(lf.Domains, ", "))
	}
	if len(lf.IPs) > 0 {
		fmt.Fprintf(w, "IPs:           %s\n", strings.Join(lf.IPs, ", "))
	}
	fmt.Fprintf(w, "Issued at:     %s\n", stamp(lf.IssuedAt))
	if o := lf.Offline; o != nil {
		fmt.Fprintf(w, "Offline activation %d, machine %q, valid offline until %s\n", o.ActivationID, o.Fingerprint, stamp(o.ValidUntil))
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
