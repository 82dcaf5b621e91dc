-- Bounded history: retention folds a server's old events into a checkpoint (the last folded event's
-- row, rewritten to hold the snapshot at that sequence) and deletes the rows before it, keeping the
-- last lifecycles.
-- A lifecycle begins where a server enters spawn_pending from another state; this partial index finds
-- those boundaries, newest first, without reading a server's whole log.
CREATE INDEX events_lifecycle_starts ON events (sid, seq)
  WHERE state_after GLOB 'spawn_pending*' AND state_before NOT GLOB 'spawn_pending*';
-- Rows before a fold checkpoint are deleted later, in id order (the log's order on disk), so a sweep
-- touches neighbouring pages instead of one page per row; this index finds a server's checkpoints.
CREATE INDEX events_folds ON events (sid, seq) WHERE type = 'history.checkpoint';
-- Freed pages: a database created by this version has auto_vacuum=INCREMENTAL (set before its first
-- table), so retention can hand pages back to the file system a few at a time. An older file keeps
-- reusing its freed pages for new rows; `spawnkeeper vacuum` converts it while no hub holds it.
