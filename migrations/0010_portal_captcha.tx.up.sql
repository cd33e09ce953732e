-- Answers of the built-in CAPTCHAs (math and image), kept in PostgreSQL so a
-- form drawn by one node can be checked by any other. A row is deleted when
-- its answer is checked (right or wrong: one try per challenge) and is
-- worthless after expires_at; app/captcha prunes expired rows as it creates
-- new ones.
CREATE TABLE captcha_challenges (
    id          text        PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('math', 'image')),
    answer      bytea       NOT NULL,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX captcha_challenges_expires_at_idx ON captcha_challenges (expires_at);
