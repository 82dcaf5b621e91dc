-- The event log: one row per server, its append-only events, durable timers, the effect outbox
-- and pods handed to the orphan sweeper. Integer server ids keep the hot indexes small.
CREATE TABLE servers (
  sid INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  snapshot TEXT NOT NULL,
  state TEXT NOT NULL,
  seq INTEGER NOT NULL,
  since INTEGER NOT NULL,
  machine_version INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  sid INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  state_before TEXT NOT NULL,
  state_after TEXT NOT NULL
);
CREATE UNIQUE INDEX events_by_server ON events (sid, seq);

CREATE TABLE timers (
  sid INTEGER NOT NULL,
  id TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  event TEXT NOT NULL,
  PRIMARY KEY (sid, id)
) WITHOUT ROWID;

CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  sid INTEGER NOT NULL,
  kind TEXT NOT NULL,
  params TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE orphans (
  sid INTEGER NOT NULL,
  uid TEXT NOT NULL,
  reason TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  PRIMARY KEY (sid, uid)
) WITHOUT ROWID;
