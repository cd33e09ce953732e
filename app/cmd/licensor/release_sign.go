package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/licensor/licensor/app/signing"
)

// runReleaseSign signs a release file offline (docs/api/signing.md#release-integrity): it hashes
// FILE, writes the manifest for PRODUCT and VERSION, signs it with the
// release key from --key (or, without it, the instance's active signing
// key) and prints the manifest and the signature. The signature, key ID
// and manifest are what a version upload sends as signature, key_id and
// manifest; the key's public half must be trusted in settings → updates.
func runReleaseSign(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "release sign", "release sign FILE PRODUCT VERSION [--key PATH] [--json] [--config FILE]")
	keyPath := fs.String("key", "", "Ed25519 private key file (PEM PKCS#8 as written by 'licensor release keygen' or 'openssl genpkey -algorithm ed25519', or base64/hex of the 32-byte seed); default: the instance's signing key (needs the database and instance secret)")
	asJSON := fs.Bool("json", false, "print one JSON object (signature, key_id, manifest, checksum, file_size) instead of text")
	pos, err := parseFlagsAndArgs(fs, c, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		fmt.Fprintln(c.stderr, "release sign needs FILE, PRODUCT and VERSION")
		fs.Usage()
		return errUsage
	}
	file, product, ver := pos[0], strings.TrimSpace(pos[1]), strings.TrimSpace(pos[2])
	if product == "" || ver == "" {
		return errors.New("PRODUCT and VERSION must not be empty")
	}
	sum, size, err := hashFile(file)
	if err != nil {
		return err
	}
	m := signing.Manifest{Product: product, Version: ver, SHA256: sum, Size: size}

	var sig signing.ReleaseSignature
	if *keyPath != "" {
		priv, err := readReleaseKey(*keyPath)
		if err != nil {
			return err
		}
		sig = signing.SignRelease(priv, m)
	} else {
		if sig, err = signWithInstanceKey(ctx, c, m); err != nil {
			return err
		}
	}

	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Signature string                   `json:"signature"`
			KeyID     string                   `json:"key_id"`
			Manifest  string                   `json:"manifest"`
			Checksum  map[string]string        `json:"checksum"`
			FileSize  int64                    `json:"file_size"`
			Object    signing.ReleaseSignature `json:"signature_object"`
		}{sig.Value, sig.KeyID, sig.Manifest, map[string]string{"algo": "sha256", "value": sum}, size, sig})
	}
	obj, err := json.Marshal(sig)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Manifest:\n%s\n\nSignature (as the update API returns it):\n%s\n\n", sig.Manifest, obj)
	fmt.Fprintf(c.stdout, "Upload fields:\n  signature=%s\n  key_id=%s\n  manifest=<the manifest above>\n", sig.Value, sig.KeyID)
	return nil
}

// signWithInstanceKey signs with the instance's active signing key.
func signWithInstanceKey(ctx context.Context, c *cli, m signing.Manifest) (signing.ReleaseSignature, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return signing.ReleaseSignature{}, err
	}
	secret, err := instanceSecret(cfg)
	if err != nil {
		return signing.ReleaseSignature{}, err
	}
	d, err := openDatabase(ctx, cfg, newLogger(c.stderr, cfg.Log))
	if err != nil {
		return signing.ReleaseSignature{}, err
	}
	defer d.close()
	ring, err := signing.Load(ctx, d.Bun, secret)
	if err != nil {
		return signing.ReleaseSignature{}, err
	}
	return ring.SignRelease(m)
}

// hashFile streams path through SHA-256.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// readReleaseKey reads an Ed25519 private key: a PEM "PRIVATE KEY" block
// (PKCS#8), or base64 or hex of the 32-byte seed or the 64-byte key.
func readReleaseKey(path string) (ed25519.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if block, _ := pem.Decode(raw); block != nil {
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		priv, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s is not an Ed25519 private key", path)
		}
		return priv, nil
	}
	text := strings.Join(strings.Fields(string(raw)), "")
	var b []byte
	if hb, err := hex.DecodeString(text); err == nil {
		b = hb
	} else if bb, err := base64.StdEncoding.DecodeString(text); err == nil {
		b = bb
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		return ed25519.NewKeyFromSeed(b[:ed25519.SeedSize]), nil
	}
	return nil, fmt.Errorf("%s holds no Ed25519 private key (PEM PKCS#8, or base64/hex of the 32-byte seed)", path)
}

// parseFlagsAndArgs is parseFlags for commands with positional arguments,
// which may come before or after the flags.
func parseFlagsAndArgs(fs *flag.FlagSet, c *cli, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(c.stdout)
				fs.Usage()
				return nil, errHelpShown
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}
