<?php
// Licensor client recipe in PHP 7.4+ (docs/api/verifying.md): the standard
// extensions sodium, json and hash (Debian: php-cli).
//
//   php verify.php license FILE KEYS_JSON FINGERPRINT STATE_FILE
//   php verify.php response URL API_KEY KEYS_JSON BODY_JSON
//   php verify.php request PRODUCT LICENSE_CODE FINGERPRINT CLIENT_NAME
//   php verify.php release FILE

const SKEW = 300; // seconds a server's time may run ahead of ours

class Refused extends Exception {}

// public_key finds $kid in the public keys shipped with the software.
function public_key(string $keysFile, string $kid): string {
    foreach (json_decode(file_get_contents($keysFile), true)['data'] as $k) {
        if ($k['kid'] === $kid) return base64_decode($k['public_key']);
    }
    throw new Refused("unknown key $kid");
}

function verify(string $key, string $sig, string $data): void {
    if (strlen($sig) !== SODIUM_CRYPTO_SIGN_BYTES || !sodium_crypto_sign_verify_detached($sig, $data, $key)) {
        throw new Refused('bad signature');
    }
}

function read_envelope(string $path): array {
    $lines = array_filter(file($path, FILE_IGNORE_NEW_LINES), fn($l) => strpos($l, '-----') !== 0);
    $env = json_decode(base64_decode(implode('', array_map('trim', $lines))), true);
    if (($env['alg'] ?? '') !== 'ed25519') throw new Refused('not a license file');
    return $env;
}

function check_license(string $path, string $keysFile, string $fingerprint, string $stateFile): void {
    $env = read_envelope($path);
    verify(public_key($keysFile, $env['kid']), base64_decode($env['sig']), $env['data']);
    $lic = json_decode(base64_decode($env['data']), true);
    if (isset($lic['fingerprint']) && $lic['fingerprint'] !== $fingerprint) throw new Refused('license file of another machine');
    // Clock tampering: the file carries the server's time; keep the latest
    // time seen so that turning the clock back gains nothing.
    $machine = time();
    $issued = strtotime($lic['issued_at']);
    if ($issued > $machine + SKEW) throw new Refused('issued in the future: the clock was turned back');
    $lastSeen = is_file($stateFile) ? (json_decode(file_get_contents($stateFile), true)['last_seen'] ?? 0) : 0;
    $now = max($machine, $lastSeen);
    file_put_contents($stateFile, json_encode(['last_seen' => max($now, $issued)]));
    foreach (['valid_until', 'expires_at'] as $field) {
        if (!empty($lic[$field]) && $now >= strtotime($lic[$field])) throw new Refused("$field passed");
    }
    echo "OK {$lic['license_code']}\n";
}

function check_response(string $url, string $apiKey, string $keysFile, string $body): void {
    $nonce = bin2hex(random_bytes(16));
    $ctx = stream_context_create(['http' => ['method' => 'POST', 'content' => $body, 'ignore_errors' => true,
        'header' => "Content-Type: application/json\r\nX-API-KEY: $apiKey\r\nX-Licensor-Nonce: $nonce\r\n"]]);
    $got = file_get_contents($url, false, $ctx);
    $p = [];
    foreach ($http_response_header as $h) {
        if (stripos($h, 'Licensor-Signature:') === 0 && preg_match_all('/(\w+)="([^"]*)"/', $h, $m, PREG_SET_ORDER)) {
            foreach ($m as $kv) $p[$kv[1]] = $kv[2];
        }
    }
    $key = public_key($keysFile, $p['keyid'] ?? '');
    $u = parse_url($url);
    $host = strtolower($u['host'] . (isset($u['port']) ? ':' . $u['port'] : ''));
    $digest = base64_encode(hash('sha256', $got, true)); // the body received, never the Digest header
    $signed = "(request-target): post {$u['path']}\nhost: $host\ndate: {$p['date']}\ndigest: sha-256=$digest";
    if (($p['algorithm'] ?? '') !== 'ed25519') throw new Refused('bad signature');
    verify($key, base64_decode($p['signature'] ?? ''), $signed);
    if ((json_decode($got, true)['nonce'] ?? null) !== $nonce) throw new Refused('not the answer to this request (nonce)');
    if (strtotime($p['date']) > time() + SKEW) throw new Refused('dated in the future: the clock was turned back');
    echo "OK $got\n";
}

// text_code is base32 (RFC 4648, no padding) of payload + SHA-256(payload)[:4], in groups of five.
function text_code(string $payload): string {
    $raw = $payload . substr(hash('sha256', $payload, true), 0, 4);
    $bits = '';
    foreach (str_split($raw) as $c) $bits .= str_pad(decbin(ord($c)), 8, '0', STR_PAD_LEFT);
    $code = '';
    foreach (str_split($bits, 5) as $chunk) $code .= 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[bindec(str_pad($chunk, 5, '0'))];
    return implode('-', str_split($code, 5));
}

function make_request(string $product, string $code, string $fingerprint, string $client): void {
    $at = time();
    echo json_encode(['type' => 'licensor.offline_activation', 'product_id' => $product, 'license_code' => $code,
        'fingerprint' => $fingerprint, 'client_name' => $client, 'requested_at' => $at]), "\n";
    echo text_code(implode("\n", ['LOA1', $product, $code, $fingerprint, $client, $at])), "\n";
}

// make_release prints the release proof of a license file (delete the file first).
function make_release(string $path): void {
    $lic = json_decode(base64_decode(read_envelope($path)['data']), true);
    $at = time();
    $msg = "licensor-offline-release\n{$lic['activation_id']}\n{$lic['license_code']}\n{$lic['fingerprint']}\n$at";
    $mac = substr(hash_hmac('sha256', $msg, base64_decode($lic['release_key'])), 0, 32);
    echo json_encode(['type' => 'licensor.offline_release', 'activation_id' => $lic['activation_id'],
        'license_code' => $lic['license_code'], 'fingerprint' => $lic['fingerprint'], 'released_at' => $at, 'mac' => $mac]), "\n";
}

try {
    $run = ['license' => 'check_license', 'response' => 'check_response', 'request' => 'make_request', 'release' => 'make_release'][$argv[1]];
    $run(...array_slice($argv, 2));
} catch (Throwable $e) {
    echo 'REFUSED ', $e->getMessage(), "\n";
    exit(1);
}
