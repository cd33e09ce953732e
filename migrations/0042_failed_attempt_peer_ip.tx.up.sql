-- The auto-blacklist counts what the connection showed, not what the client
-- asserted (docs/deploy.md#auto-blacklist): a failed activation or download
-- keeps the peer address it came from (the client IP as the server saw it,
-- through http.trusted_proxies) beside the ip column, which X-API-IP can
-- set to anything. Rows written before have none and are never counted.
ALTER TABLE activations ADD COLUMN peer_ip text;
ALTER TABLE download_logs ADD COLUMN peer_ip text;
