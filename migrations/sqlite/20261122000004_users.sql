-- People who sign in to Lakeline, their sessions, and where each audited action came from.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT    NOT NULL,
    -- argon2id, in the PHC string format (salt and parameters inside).
    password_hash TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);

-- A session is known by the SHA-256 of its id: the id itself lives only in the browser's cookie.
CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL,
    address    TEXT    NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

ALTER TABLE audit_events ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN outcome TEXT NOT NULL DEFAULT 'ok';
CREATE INDEX audit_events_actor ON audit_events (actor, at);
