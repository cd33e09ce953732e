//go:build ignore

// Licensor client recipe in Go (docs/api/verifying.md), standard library only.
//
//	go run verify.go license FILE KEYS_JSON FINGERPRINT STATE_FILE
//	go run verify.go response URL API_KEY KEYS_JSON BODY_JSON
//	go run verify.go request PRODUCT LICENSE_CODE FINGERPRINT CLIENT_NAME
//	go run verify.go release FILE
package main

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

const skew = 5 * time.Minute // how far a server's time may run ahead of ours

func main() {
	a := os.Args[1:]
	var err error
	switch a[0] {
	case "license":
		err = checkLicense(a[1], a[2], a[3], a[4])
	case "response":
		err = checkResponse(a[1], a[2], a[3], a[4])
	case "request":
		makeRequest(a[1], a[2], a[3], a[4])
	case "release":
		err = makeRelease(a[1])
	}
	if err != nil {
		fmt.Println("REFUSED", err)
		os.Exit(1)
	}
}

// publicKey finds kid in the public keys shipped with the software
// (GET /api/external/public-keys, saved when it was built).
func publicKey(keysFile, kid string) (ed25519.PublicKey, error) {
	var keys struct {
		Data []struct {
			Kid       string `json:"kid"`
			PublicKey string `json:"public_key"`
		} `json:"data"`
	}
	b, err := os.ReadFile(keysFile)
	if err == nil {
		err = json.Unmarshal(b, &keys)
	}
	for _, k := range keys.Data {
		if k.Kid == kid {
			return base64.StdEncoding.DecodeString(k.PublicKey)
		}
	}
	return nil, fmt.Errorf("unknown key %q (%v)", kid, err)
}

type envelope struct{ Data, Alg, Kid, Sig string }

// readEnvelope drops a license file's armour lines and decodes the rest.
func readEnvelope(file string) (env envelope, err error) {
	raw, err := os.ReadFile(file)
	var armoured strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if !strings.HasPrefix(line, "-----") {
			armoured.WriteString(strings.TrimSpace(line))
		}
	}
	envJSON, err2 := base64.StdEncoding.DecodeString(armoured.String())
	if err != nil || err2 != nil || json.Unmarshal(envJSON, &env) != nil || env.Alg != "ed25519" {
		return env, fmt.Errorf("not a license file")
	}
	return env, nil
}

// readLicense checks a license file's signature and returns its license JSON.
func readLicense(file, keysFile string) (map[string]any, error) {
	env, err := readEnvelope(file)
	if err != nil {
		return nil, err
	}
	key, err := publicKey(keysFile, env.Kid)
	if err != nil {
		return nil, err
	}
	sig, _ := base64.StdEncoding.DecodeString(env.Sig)
	if !ed25519.Verify(key, []byte(env.Data), sig) {
		return nil, fmt.Errorf("bad signature")
	}
	data, _ := base64.StdEncoding.DecodeString(env.Data)
	var lic map[string]any
	return lic, json.Unmarshal(data, &lic)
}

func checkLicense(file, keysFile, fingerprint, stateFile string) error {
	lic, err := readLicense(file, keysFile)
	if err != nil {
		return err
	}
	if fp, bound := lic["fingerprint"].(string); bound && fp != fingerprint {
		return fmt.Errorf("license file of another machine")
	}
	// Clock tampering: the file carries the server's time; keep the latest
	// time seen so that turning the clock back gains nothing.
	machine := time.Now()
	issued, _ := time.Parse(time.RFC3339Nano, lic["issued_at"].(string))
	if issued.After(machine.Add(skew)) {
		return fmt.Errorf("issued in the future: the clock was turned back")
	}
	var state struct {
		LastSeen int64 `json:"last_seen"`
	}
	if b, err := os.ReadFile(stateFile); err == nil {
		_ = json.Unmarshal(b, &state)
	}
	now := time.Unix(max(machine.Unix(), state.LastSeen), 0)
	state.LastSeen = max(now.Unix(), issued.Unix())
	b, _ := json.Marshal(state)
	if err := os.WriteFile(stateFile, b, 0o600); err != nil {
		return err
	}
	for _, field := range []string{"valid_until", "expires_at"} {
		if s, ok := lic[field].(string); ok {
			if end, _ := time.Parse(time.RFC3339Nano, s); !now.Before(end) {
				return fmt.Errorf("%s passed", field)
			}
		}
	}
	fmt.Println("OK", lic["license_code"])
	return nil
}

// signatureParams reads keyid="…", algorithm="…", date="…", signature="…".
var signatureParams = regexp.MustCompile(`(\w+)="([^"]*)"`)

func checkResponse(url, apiKey, keysFile, body string) error {
	nonce := make([]byte, 16)
	rand.Read(nonce)
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-KEY", apiKey)
	req.Header.Set("X-Licensor-Nonce", hex.EncodeToString(nonce))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	p := map[string]string{}
	for _, m := range signatureParams.FindAllStringSubmatch(resp.Header.Get("Licensor-Signature"), -1) {
		p[m[1]] = m[2]
	}
	key, err := publicKey(keysFile, p["keyid"])
	if err != nil {
		return err
	}
	sum := sha256.Sum256(got) // the body received, never the Digest header
	signed := fmt.Sprintf("(request-target): post %s\nhost: %s\ndate: %s\ndigest: sha-256=%s",
		req.URL.Path, strings.ToLower(req.URL.Host), p["date"], base64.StdEncoding.EncodeToString(sum[:]))
	sig, _ := base64.StdEncoding.DecodeString(p["signature"])
	if p["algorithm"] != "ed25519" || !ed25519.Verify(key, []byte(signed), sig) {
		return fmt.Errorf("bad signature")
	}
	var answer struct{ Nonce string }
	if json.Unmarshal(got, &answer) != nil || answer.Nonce != hex.EncodeToString(nonce) {
		return fmt.Errorf("not the answer to this request (nonce)")
	}
	if date, err := http.ParseTime(p["date"]); err != nil || date.After(time.Now().Add(skew)) {
		return fmt.Errorf("dated in the future: the clock was turned back")
	}
	fmt.Println("OK", string(got))
	return nil
}

// makeRequest prints an offline activation request: JSON, then the text code.
func makeRequest(product, code, fingerprint, client string) {
	at := time.Now().Unix()
	doc, _ := json.Marshal(map[string]any{"type": "licensor.offline_activation", "product_id": product,
		"license_code": code, "fingerprint": fingerprint, "client_name": client, "requested_at": at})
	fmt.Println(string(doc))
	fmt.Println(textCode(strings.Join([]string{"LOA1", product, code, fingerprint, client, strconv.FormatInt(at, 10)}, "\n")))
}

// textCode is base32 of payload ‖ SHA-256(payload)[:4] in groups of five.
func textCode(payload string) string {
	sum := sha256.Sum256([]byte(payload))
	raw := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(append([]byte(payload), sum[:4]...))
	var groups []string
	for len(raw) > 5 {
		groups, raw = append(groups, raw[:5]), raw[5:]
	}
	return strings.Join(append(groups, raw), "-")
}

// makeRelease prints the release proof of a license file (delete the file first).
func makeRelease(file string) error {
	env, err := readEnvelope(file)
	data, _ := base64.StdEncoding.DecodeString(env.Data)
	var lic struct {
		ActivationID int64  `json:"activation_id"`
		LicenseCode  string `json:"license_code"`
		Fingerprint  string `json:"fingerprint"`
		ReleaseKey   string `json:"release_key"`
	}
	if err != nil || json.Unmarshal(data, &lic) != nil || lic.ReleaseKey == "" {
		return fmt.Errorf("not an offline license file")
	}
	key, _ := base64.StdEncoding.DecodeString(lic.ReleaseKey)
	at := time.Now().Unix()
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "licensor-offline-release\n%d\n%s\n%s\n%d", lic.ActivationID, lic.LicenseCode, lic.Fingerprint, at)
	doc, _ := json.Marshal(map[string]any{"type": "licensor.offline_release", "activation_id": lic.ActivationID,
		"license_code": lic.LicenseCode, "fingerprint": lic.Fingerprint, "released_at": at, "mac": hex.EncodeToString(mac.Sum(nil)[:16])})
	fmt.Println(string(doc))
	return nil
}
