<?php
// Makes legacy_tokens.jsonl: tokens encrypted in PHP the way License Manager
// (Laravel's Encrypter) and LicenseBox (CodeIgniter 3's Encryption library)
// encrypt them, so the Go decryption is checked against PHP's OpenSSL.
// Regenerate: php testdata/legacy_tokens.php > testdata/legacy_tokens.jsonl

// Laravel Encrypter::encrypt($value, serialize: true).
function laravel_encrypt($value, string $cipher, string $key): string {
    $iv = random_bytes(openssl_cipher_iv_length($cipher));
    $tag = '';
    $aead = str_ends_with($cipher, '-gcm');
    $value = $aead
        ? openssl_encrypt(serialize($value), $cipher, $key, 0, $iv, $tag)
        : openssl_encrypt(serialize($value), $cipher, $key, 0, $iv);
    $iv = base64_encode($iv);
    $tag = base64_encode($tag);
    $mac = $aead ? '' : hash_hmac('sha256', $iv.$value, $key);
    return base64_encode(json_encode(compact('iv', 'value', 'mac', 'tag'), JSON_UNESCAPED_SLASHES));
}

// CodeIgniter 3 Encryption::hkdf (sha512).
function ci3_hkdf(string $key, ?int $length, string $info): string {
    $length = $length ?: 64;
    $salt = str_repeat("\0", 64);
    $prk = hash_hmac('sha512', $key, $salt, true);
    $okm = ''; $block = '';
    for ($i = 1; strlen($okm) < $length; $i++) {
        $block = hash_hmac('sha512', $block.$info.chr($i), $prk, true);
        $okm .= $block;
    }
    return substr($okm, 0, $length);
}

// CodeIgniter 3 Encryption::encrypt with the defaults (openssl, aes-128-cbc,
// base64, hmac sha512).
function ci3_encrypt(string $data, string $key): string {
    $encKey = ci3_hkdf($key, strlen($key), 'encryption');
    $iv = random_bytes(16);
    $data = base64_encode($iv.openssl_encrypt($data, 'aes-128-cbc', $encKey, OPENSSL_RAW_DATA, $iv));
    return hash_hmac('sha512', $data, ci3_hkdf($key, null, 'authentication')).$data;
}

$out = [];
$keys = ['aes-128-cbc' => 16, 'aes-256-cbc' => 32, 'aes-128-gcm' => 16, 'aes-256-gcm' => 32];
foreach ($keys as $cipher => $len) {
    $raw = random_bytes($len);
    $id = random_int(1, 1000000);
    $out[] = ['kind' => 'laravel', 'cipher' => $cipher, 'key' => 'base64:'.base64_encode($raw),
        'token' => laravel_encrypt(['id' => $id, 'activation_id' => $id], $cipher, $raw), 'id' => $id];
    $rawText = substr(bin2hex(random_bytes($len)), 0, $len);
    $out[] = ['kind' => 'laravel', 'cipher' => $cipher, 'key' => $rawText,
        'token' => laravel_encrypt(['id' => $id + 1, 'product' => 'ACME', 'nested' => ['a' => true, 'b' => null, 'c' => 1.5]], $cipher, $rawText), 'id' => $id + 1];
}
foreach (['short', 'sixteen-chars-ok', 'a LicenseBox key of thirty-two c', 'an even longer LicenseBox encryption key'] as $i => $key) {
    $client = $i % 2 ? 'Jürgen <j@example.com>' : 'CUST-001';
    $field = $i == 3 ? 'customer_id' : 'client';
    $out[] = ['kind' => 'licensebox', 'key' => $key,
        'token' => ci3_encrypt(json_encode(['license' => 'LB-'.$i.'-6F1C2A9E', $field => $client]), $key),
        'license' => 'LB-'.$i.'-6F1C2A9E', 'client' => $client];
}
foreach ($out as $o) echo json_encode($o, JSON_UNESCAPED_SLASHES|JSON_UNESCAPED_UNICODE), "\n";
