-- Imports of customers and licenses (app/imports): the uploaded file, what
-- its validation found, the admin's choices, and the progress and report of
-- the River job that runs it. The file stays here (not on a node's disk) so
-- any node's worker can read it.
CREATE TABLE imports (
    id            bigserial   PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind IN ('customers', 'licenses')),
    format        text        NOT NULL,
    filename      text        NOT NULL,
    size          integer     NOT NULL,
    content       bytea       NOT NULL,
    -- validated: previewed, waiting for a choice; queued, running, done,
    -- failed: the job's; cancelled: "import nothing".
    status        text        NOT NULL DEFAULT 'validated'
                  CHECK (status IN ('validated', 'queued', 'running', 'done', 'failed', 'cancelled')),
    total_rows    integer     NOT NULL DEFAULT 0,
    good_rows     integer     NOT NULL DEFAULT 0,
    bad_rows      integer     NOT NULL DEFAULT 0,
    -- Every bad row: [{"line": 3, "field": "email", "message": "..."}].
    problems      jsonb       NOT NULL DEFAULT '[]',
    -- A few good rows as read: [{"line": 2, "fields": {...}}].
    sample        jsonb       NOT NULL DEFAULT '[]',
    on_duplicate  text        NOT NULL DEFAULT 'skip' CHECK (on_duplicate IN ('skip', 'update')),
    -- Progress of the job: lines up to next_line were committed.
    next_line     integer     NOT NULL DEFAULT 0,
    processed     integer     NOT NULL DEFAULT 0,
    inserted      integer     NOT NULL DEFAULT 0,
    updated       integer     NOT NULL DEFAULT 0,
    skipped       integer     NOT NULL DEFAULT 0,
    batches       integer     NOT NULL DEFAULT 0,
    -- Good rows that match an existing record (skipped or updated).
    duplicates    integer     NOT NULL DEFAULT 0,
    -- Columns the file has that the kind does not read.
    ignored       text[]      NOT NULL DEFAULT '{}',
    error         text        NOT NULL DEFAULT '',
    actor_type    text        NOT NULL DEFAULT 'system',
    actor_id      bigint,
    actor_name    text        NOT NULL DEFAULT '',
    actor_ip      text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX imports_created_at_idx ON imports (created_at DESC, id DESC);
