#!/usr/bin/env python3
"""Licensor client recipe in Python (docs/api/verifying.md): the standard
library and the `cryptography` package (Debian: python3-cryptography).

    verify.py license FILE KEYS_JSON FINGERPRINT STATE_FILE
    verify.py response URL API_KEY KEYS_JSON BODY_JSON
    verify.py request PRODUCT LICENSE_CODE FINGERPRINT CLIENT_NAME
    verify.py release FILE
"""
import base64, hashlib, hmac, json, os, re, secrets, sys, time, urllib.error, urllib.parse, urllib.request
from datetime import datetime
from email.utils import parsedate_to_datetime
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SKEW = 300  # seconds a server's time may run ahead of ours


class Refused(Exception):
    pass


def public_key(keys_file, kid):
    """The key kid of the public keys shipped with the software."""
    with open(keys_file) as f:
        for k in json.load(f)["data"]:
            if k["kid"] == kid:
                return Ed25519PublicKey.from_public_bytes(base64.b64decode(k["public_key"]))
    raise Refused("unknown key %r" % kid)


def verify(key, sig, data):
    try:
        key.verify(sig, data)
    except InvalidSignature:
        raise Refused("bad signature")


def read_envelope(path):
    with open(path) as f:
        armoured = "".join(l.strip() for l in f if not l.startswith("-----"))
    env = json.loads(base64.b64decode(armoured))
    if env.get("alg") != "ed25519":
        raise Refused("not a license file")
    return env


def timestamp(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def check_license(path, keys_file, fingerprint, state_file):
    env = read_envelope(path)
    verify(public_key(keys_file, env["kid"]), base64.b64decode(env["sig"]), env["data"].encode())
    lic = json.loads(base64.b64decode(env["data"]))
    if "fingerprint" in lic and lic["fingerprint"] != fingerprint:
        raise Refused("license file of another machine")
    # Clock tampering: the file carries the server's time; keep the latest
    # time seen so that turning the clock back gains nothing.
    machine, issued = time.time(), timestamp(lic["issued_at"])
    if issued > machine + SKEW:
        raise Refused("issued in the future: the clock was turned back")
    last_seen = 0
    if os.path.exists(state_file):
        with open(state_file) as f:
            last_seen = json.load(f).get("last_seen", 0)
    now = max(machine, last_seen)
    with open(state_file, "w") as f:
        json.dump({"last_seen": int(max(now, issued))}, f)
    for field in ("valid_until", "expires_at"):
        if lic.get(field) and now >= timestamp(lic[field]):
            raise Refused(field + " passed")
    print("OK", lic["license_code"])


def check_response(url, api_key, keys_file, body):
    nonce = secrets.token_hex(16)
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": "application/json", "X-API-KEY": api_key, "X-Licensor-Nonce": nonce})
    try:
        resp = urllib.request.urlopen(req)
    except urllib.error.HTTPError as e:  # 4xx and 5xx answers are signed too
        resp = e
    got = resp.read()
    p = dict(re.findall(r'(\w+)="([^"]*)"', resp.headers.get("Licensor-Signature", "")))
    key = public_key(keys_file, p.get("keyid"))
    u = urllib.parse.urlsplit(url)
    digest = base64.b64encode(hashlib.sha256(got).digest()).decode()  # the body received, never the Digest header
    signed = "(request-target): post %s\nhost: %s\ndate: %s\ndigest: sha-256=%s" % (u.path, u.netloc.lower(), p.get("date"), digest)
    if p.get("algorithm") != "ed25519":
        raise Refused("bad signature")
    verify(key, base64.b64decode(p.get("signature", "")), signed.encode())
    if json.loads(got).get("nonce") != nonce:
        raise Refused("not the answer to this request (nonce)")
    if parsedate_to_datetime(p["date"]).timestamp() > time.time() + SKEW:
        raise Refused("dated in the future: the clock was turned back")
    print("OK", got.decode())


def text_code(payload):
    """base32 of payload + SHA-256(payload)[:4], in groups of five."""
    raw = payload.encode()
    code = base64.b32encode(raw + hashlib.sha256(raw).digest()[:4]).decode().rstrip("=")
    return "-".join(code[i:i + 5] for i in range(0, len(code), 5))


def make_request(product, code, fingerprint, client):
    at = int(time.time())
    print(json.dumps({"type": "licensor.offline_activation", "product_id": product, "license_code": code,
                      "fingerprint": fingerprint, "client_name": client, "requested_at": at}))
    print(text_code("\n".join(["LOA1", product, code, fingerprint, client, str(at)])))


def make_release(path):
    """The release proof of a license file (delete the file first)."""
    lic = json.loads(base64.b64decode(read_envelope(path)["data"]))
    at = int(time.time())
    msg = "licensor-offline-release\n%d\n%s\n%s\n%d" % (lic["activation_id"], lic["license_code"], lic["fingerprint"], at)
    mac = hmac.new(base64.b64decode(lic["release_key"]), msg.encode(), hashlib.sha256).hexdigest()[:32]
    print(json.dumps({"type": "licensor.offline_release", "activation_id": lic["activation_id"],
                      "license_code": lic["license_code"], "fingerprint": lic["fingerprint"], "released_at": at, "mac": mac}))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        {"license": check_license, "response": check_response, "request": make_request, "release": make_release}[cmd](*args)
    except (Refused, ValueError, KeyError) as e:
        print("REFUSED", e)
        sys.exit(1)
