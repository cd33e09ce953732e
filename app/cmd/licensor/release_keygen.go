package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/licensor/licensor/app/signing"
)

// runReleaseKeygen makes a release key pair for signing releases offline:
// the private key goes to --out (PEM PKCS#8, mode 0600, never overwritten);
// the public key is printed to be trusted in settings → updates.
func runReleaseKeygen(_ context.Context, c *cli, args []string) error {
	fs := newFlags(c, "release keygen", "release keygen --out PATH")
	out := fs.String("out", "", "file to write the private key to (required; must not exist)")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(c.stderr, "--out is required")
		fs.Usage()
		return errUsage
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists; refusing to overwrite a key", *out)
	}
	if err != nil {
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Private key written to %s (keep it offline).\nKey ID: %s\nPublic key (trust it in Settings → Updates): %s\n",
		*out, signing.KeyID(pub), base64.StdEncoding.EncodeToString(pub))
	return nil
}
