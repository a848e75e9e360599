-- A number that changes whenever data that pages show changes: the rendered-page cache
-- (server/src/http/page_cache.rs) serves a page again only while it has not changed. Kept by
-- triggers, so that every writer (every replica, a script) moves it.
CREATE TABLE page_data_version (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
INSERT INTO page_data_version (id, version) VALUES (1, 0);
CREATE TRIGGER pipeline_runs_insert_page_data AFTER INSERT ON pipeline_runs
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER pipeline_runs_update_page_data AFTER UPDATE ON pipeline_runs
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER pipeline_runs_delete_page_data AFTER DELETE ON pipeline_runs
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER stage_runs_insert_page_data AFTER INSERT ON stage_runs
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER stage_runs_update_page_data AFTER UPDATE ON stage_runs
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER stage_runs_delete_page_data AFTER DELETE ON stage_runs
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER run_notes_insert_page_data AFTER INSERT ON run_notes
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER run_notes_update_page_data AFTER UPDATE ON run_notes
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER run_notes_delete_page_data AFTER DELETE ON run_notes
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER users_insert_page_data AFTER INSERT ON users
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER users_update_page_data AFTER UPDATE ON users
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER users_delete_page_data AFTER DELETE ON users
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER settings_insert_page_data AFTER INSERT ON settings
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER settings_update_page_data AFTER UPDATE ON settings
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER settings_delete_page_data AFTER DELETE ON settings
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
END;
