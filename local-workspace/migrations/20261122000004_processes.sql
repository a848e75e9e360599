-- The processes the workspace started and that may still be alive: each a process group whose
-- leader's pid is the group's id, with the leader's start time (ticks after boot) to tell it
-- from a later process that reuses the pid.
CREATE TABLE processes (
    pgid INTEGER PRIMARY KEY,
    started INTEGER NOT NULL,
    kind TEXT NOT NULL,
    owner_id TEXT NOT NULL
);
