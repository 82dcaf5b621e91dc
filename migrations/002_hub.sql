-- The hub's own records: users, their server records (named servers exist while stopped) and API
-- tokens, stored only as sha256 digests. Server lifecycles stay in the event log of 001: deleting a
-- user here never deletes a server's history.
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  admin INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,
  last_activity INTEGER,
  -- deleting: set when a DELETE had to wait for servers to stop; the user goes once they have.
  deleting INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE user_servers (
  user_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  started INTEGER,
  last_activity INTEGER,
  user_options TEXT NOT NULL DEFAULT '{}',
  -- remove_pending: a DELETE with {"remove": true} waits for the stop before the record goes.
  remove_pending INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, name)
) WITHOUT ROWID;

CREATE TABLE tokens (
  id INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  -- owner: a user's name, or NULL for the hub's admin token.
  owner TEXT,
  -- source: 'api' (minted through the API or CLI), 'env' (SPAWNKEEPER_ADMIN_TOKEN), 'generated'.
  source TEXT NOT NULL,
  scopes TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL,
  expires_at INTEGER
);
CREATE INDEX tokens_by_owner ON tokens (owner);
