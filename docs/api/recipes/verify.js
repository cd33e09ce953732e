#!/usr/bin/env node
// Licensor client recipe in JavaScript for Node 18+ (docs/api/verifying.md),
// standard library only.
//
//   node verify.js license FILE KEYS_JSON FINGERPRINT STATE_FILE
//   node verify.js response URL API_KEY KEYS_JSON BODY_JSON
//   node verify.js request PRODUCT LICENSE_CODE FINGERPRINT CLIENT_NAME
//   node verify.js release FILE
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const SKEW = 300; // seconds a server's time may run ahead of ours

class Refused extends Error {}

// publicKey finds kid in the public keys shipped with the software.
function publicKey(keysFile, kid) {
  const k = JSON.parse(fs.readFileSync(keysFile, 'utf8')).data.find((k) => k.kid === kid);
  if (!k) throw new Refused(`unknown key ${kid}`);
  const x = Buffer.from(k.public_key, 'base64').toString('base64url');
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

function verify(key, sig, data) {
  if (!crypto.verify(null, Buffer.from(data), key, sig)) throw new Refused('bad signature');
}

function readEnvelope(path) {
  const armoured = fs.readFileSync(path, 'utf8').split('\n').filter((l) => !l.startsWith('-----')).map((l) => l.trim()).join('');
  const env = JSON.parse(Buffer.from(armoured, 'base64').toString());
  if (env.alg !== 'ed25519') throw new Refused('not a license file');
  return env;
}

const seconds = (s) => Date.parse(s) / 1000;

function checkLicense(path, keysFile, fingerprint, stateFile) {
  const env = readEnvelope(path);
  verify(publicKey(keysFile, env.kid), Buffer.from(env.sig, 'base64'), env.data);
  const lic = JSON.parse(Buffer.from(env.data, 'base64').toString());
  if ('fingerprint' in lic && lic.fingerprint !== fingerprint) throw new Refused('license file of another machine');
  // Clock tampering: the file carries the server's time; keep the latest
  // time seen so that turning the clock back gains nothing.
  const machine = Date.now() / 1000;
  const issued = seconds(lic.issued_at);
  if (issued > machine + SKEW) throw new Refused('issued in the future: the clock was turned back');
  const lastSeen = fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, 'utf8')).last_seen || 0 : 0;
  const now = Math.max(machine, lastSeen);
  fs.writeFileSync(stateFile, JSON.stringify({ last_seen: Math.floor(Math.max(now, issued)) }));
  for (const field of ['valid_until', 'expires_at']) {
    if (lic[field] && now >= seconds(lic[field])) throw new Refused(`${field} passed`);
  }
  console.log('OK', lic.license_code);
}

async function checkResponse(url, apiKey, keysFile, body) {
  const nonce = crypto.randomBytes(16).toString('hex');
  const resp = await fetch(url, {
    method: 'POST', body,
    headers: { 'Content-Type': 'application/json', 'X-API-KEY': apiKey, 'X-Licensor-Nonce': nonce },
  });
  const got = Buffer.from(await resp.arrayBuffer());
  const p = {};
  for (const m of (resp.headers.get('licensor-signature') || '').matchAll(/(\w+)="([^"]*)"/g)) p[m[1]] = m[2];
  const key = publicKey(keysFile, p.keyid);
  const u = new URL(url);
  const digest = crypto.createHash('sha256').update(got).digest('base64'); // the body received, never the Digest header
  const signed = `(request-target): post ${u.pathname}\nhost: ${u.host.toLowerCase()}\ndate: ${p.date}\ndigest: sha-256=${digest}`;
  if (p.algorithm !== 'ed25519') throw new Refused('bad signature');
  verify(key, Buffer.from(p.signature || '', 'base64'), signed);
  if (JSON.parse(got.toString()).nonce !== nonce) throw new Refused('not the answer to this request (nonce)');
  if (Date.parse(p.date) / 1000 > Date.now() / 1000 + SKEW) throw new Refused('dated in the future: the clock was turned back');
  console.log('OK', got.toString());
}

// textCode is base32 (RFC 4648, no padding) of payload + SHA-256(payload)[:4], in groups of five.
function textCode(payload) {
  const raw = Buffer.concat([Buffer.from(payload), crypto.createHash('sha256').update(payload).digest().subarray(0, 4)]);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0, value = 0, code = '';
  for (const byte of raw) {
    value = (value << 8) | byte; bits += 8;
    while (bits >= 5) { code += alphabet[(value >>> (bits - 5)) & 31]; bits -= 5; }
  }
  if (bits > 0) code += alphabet[(value << (5 - bits)) & 31];
  return code.match(/.{1,5}/g).join('-');
}

function makeRequest(product, code, fingerprint, client) {
  const at = Math.floor(Date.now() / 1000);
  console.log(JSON.stringify({ type: 'licensor.offline_activation', product_id: product, license_code: code,
    fingerprint, client_name: client, requested_at: at }));
  console.log(textCode(['LOA1', product, code, fingerprint, client, String(at)].join('\n')));
}

// makeRelease prints the release proof of a license file (delete the file first).
function makeRelease(path) {
  const lic = JSON.parse(Buffer.from(readEnvelope(path).data, 'base64').toString());
  const at = Math.floor(Date.now() / 1000);
  const msg = `licensor-offline-release\n${lic.activation_id}\n${lic.license_code}\n${lic.fingerprint}\n${at}`;
  const mac = crypto.createHmac('sha256', Buffer.from(lic.release_key, 'base64')).update(msg).digest('hex').slice(0, 32);
  console.log(JSON.stringify({ type: 'licensor.offline_release', activation_id: lic.activation_id,
    license_code: lic.license_code, fingerprint: lic.fingerprint, released_at: at, mac }));
}

const [cmd, ...args] = process.argv.slice(2);
const run = { license: checkLicense, response: checkResponse, request: makeRequest, release: makeRelease }[cmd];
Promise.resolve().then(() => run(...args)).catch((e) => {
  console.log('REFUSED', e.message);
  process.exit(1);
});
