-- A number that changes whenever data that pages show changes: the rendered-page cache
-- (server/src/http/page_cache.rs) serves a page again only while it has not changed. Kept by
-- triggers, so that every writer (every replica, a script) moves it.
CREATE TABLE page_data_version (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
INSERT INTO page_data_version (id, version) VALUES (1, 0);
-- Moved when a transaction commits (deferred), after it has taken every other lock it needs, so
-- that writers never wait on each other in a cycle.
CREATE FUNCTION page_data_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE page_data_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER pipeline_runs_page_data AFTER INSERT OR UPDATE OR DELETE ON pipeline_runs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION page_data_changed();
CREATE CONSTRAINT TRIGGER stage_runs_page_data AFTER INSERT OR UPDATE OR DELETE ON stage_runs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION page_data_changed();
CREATE CONSTRAINT TRIGGER run_notes_page_data AFTER INSERT OR UPDATE OR DELETE ON run_notes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION page_data_changed();
CREATE CONSTRAINT TRIGGER users_page_data AFTER INSERT OR UPDATE OR DELETE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION page_data_changed();
CREATE CONSTRAINT TRIGGER settings_page_data AFTER INSERT OR UPDATE OR DELETE ON settings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION page_data_changed();
