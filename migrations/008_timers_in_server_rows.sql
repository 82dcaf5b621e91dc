-- Timers live in their server's row: a step that arms or cancels a timer already rewrites that row,
-- so the timers ride along instead of costing a statement (and a B-tree) of their own — the largest
-- share of a step's SQL, measured in bench/README.md. The column holds a JSON array of
-- [id, due_at, delay_ms, event, crc] per armed timer; each entry keeps the checksum its row had
-- (NULL for rows from before migration 003, a NULL delay for rows from before 004), so nothing is
-- recomputed here and a damaged entry is still refused when read.
ALTER TABLE servers ADD COLUMN timers TEXT NOT NULL DEFAULT '[]';
UPDATE servers SET timers = (
  SELECT json_group_array(json_array(t.id, t.due_at, t.delay_ms, t.event, t.crc))
  FROM (SELECT * FROM timers WHERE timers.sid = servers.sid ORDER BY id) AS t
)
WHERE sid IN (SELECT sid FROM timers);
DROP TABLE timers;
