-- Every activation adds one to its license's total_activations, and every
-- verify batch sets activations' last_verified_at; neither column is
-- indexed, so PostgreSQL can update the row in place (a HOT update,
-- touching none of the licenses' 18 indexes) when its page has room.
-- Leaving room in each page keeps most such updates HOT. Pages written
-- from now on are filled to these levels; VACUUM FULL applies it to the
-- existing ones.
ALTER TABLE licenses SET (fillfactor = 85);
ALTER TABLE activations SET (fillfactor = 90);
