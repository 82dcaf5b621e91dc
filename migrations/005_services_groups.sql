-- Services and groups, as JupyterHub keeps them. A service is defined only in the configuration file
-- (JupyterHub's c.JupyterHub.services and load_roles); a token of a service names it in `service`
-- (owner NULL). A token with neither owner nor service is one of the hub's own.
ALTER TABLE tokens ADD COLUMN service TEXT;
CREATE INDEX tokens_by_service ON tokens (service);

-- Groups of users: members by user id, so a renamed user stays in its groups; properties are the
-- free JSON object of JupyterHub's group model.
CREATE TABLE groups (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  properties TEXT NOT NULL DEFAULT '{}',
  created INTEGER NOT NULL
);

CREATE TABLE group_members (
  group_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_by_user ON group_members (user_id);
