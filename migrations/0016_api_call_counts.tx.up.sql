-- Authenticated API calls per UTC day and scope (the endpoint's scope, e.g.
-- license:verify), counted by each node in memory and added here in batches
-- (app/api/pipeline CallCounter). The dashboard's API calls widget reads it.
CREATE TABLE api_call_counts (
    day      date   NOT NULL,
    scope    text   NOT NULL,
    calls    bigint NOT NULL CHECK (calls >= 0),
    PRIMARY KEY (day, scope)
);
