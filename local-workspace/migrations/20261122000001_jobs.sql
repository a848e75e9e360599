-- The local workspace's own store: projects, jobs and job runs, shaped like CML's.
CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    dir         TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE jobs (
    id                 TEXT PRIMARY KEY,
    project_id         TEXT NOT NULL REFERENCES projects (id),
    name               TEXT NOT NULL,
    script             TEXT NOT NULL,
    cpu                REAL NOT NULL,
    memory             REAL NOT NULL,
    nvidia_gpu         INTEGER NOT NULL,
    arguments          TEXT NOT NULL DEFAULT '',
    environment        TEXT NOT NULL DEFAULT '{}',
    timeout            INTEGER NOT NULL DEFAULT 0,
    kill_on_timeout    INTEGER NOT NULL DEFAULT 0,
    schedule           TEXT NOT NULL DEFAULT '',
    timezone           TEXT NOT NULL DEFAULT '',
    paused             INTEGER NOT NULL DEFAULT 0,
    parent_id          TEXT NOT NULL DEFAULT '',
    runtime_identifier TEXT NOT NULL,
    kernel             TEXT NOT NULL DEFAULT '',
    creator            TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX jobs_project ON jobs (project_id, created_at);
CREATE INDEX jobs_parent ON jobs (parent_id);

CREATE TABLE job_runs (
    id                 TEXT PRIMARY KEY,
    project_id         TEXT NOT NULL,
    job_id             TEXT NOT NULL,
    status             TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    scheduling_at      TEXT,
    starting_at        TEXT,
    running_at         TEXT,
    finished_at        TEXT,
    kernel             TEXT NOT NULL DEFAULT '',
    cpu                REAL NOT NULL,
    memory             REAL NOT NULL,
    nvidia_gpu         INTEGER NOT NULL,
    arguments          TEXT NOT NULL DEFAULT '',
    environment        TEXT NOT NULL DEFAULT '{}',
    runtime_identifier TEXT NOT NULL,
    creator            TEXT NOT NULL,
    log_path           TEXT NOT NULL,
    -- Why the run ended the way it did, when the process itself could not say.
    message            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_job ON job_runs (job_id, created_at);
CREATE INDEX job_runs_status ON job_runs (status);
