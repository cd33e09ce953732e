-- Download links count bytes as well as downloads (docs/deploy.md#download-links-and-range):
-- a request reserves the bytes it asks for, the unsent rest is given back
-- when its answer ends, and a capped link serves at most max_downloads
-- times its file's size, so a Range request (bytes=1-) after the cap is
-- refused while a resumed download of a link with room left is served
-- without counting as another download.
ALTER TABLE download_tokens ADD COLUMN bytes_reserved bigint NOT NULL DEFAULT 0;
