-- The spec of a server's current spawn: what its start request asked for beyond the pod template
-- (profile overrides, resources, port, args) and, apart, the environment the pod gets through its
-- Secret. The row is written in the same transaction as the `server.start` event that begins the
-- spawn (the event carries only a salted digest of it) and deleted in the transaction that takes the
-- server to stopped or failed, so environment values never enter the event log and stay in this
-- file only while their server is active. Deleted content is overwritten (secure_delete).
CREATE TABLE server_specs (
  key TEXT PRIMARY KEY,
  spec TEXT NOT NULL,
  env TEXT,
  digest TEXT NOT NULL,
  written_at INTEGER NOT NULL
);
