-- Values as a JSON object, so that a change is applied by the server in
-- one statement (see "Atomic changes" in the package documentation):
-- vals maps each key to its value as a string, size is the record's size
-- (store.Size). Rows written before keep their values in data (vals is
-- NULL) and move to vals at their next write.

ALTER TABLE {table} ADD COLUMN vals JSON NULL, ADD COLUMN size BIGINT NOT NULL DEFAULT 0;
