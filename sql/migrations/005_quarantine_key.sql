-- Schema version 5: a quarantined row carries its feed's key when one could be read from it,
-- as text (a key of several columns as a JSON array of their values), NULL when none could.
-- A row read again with that key, loaded or quarantined, supersedes the older quarantine rows
-- of the same source, feed and key (connectors/loader.py): an item an API reads again at its
-- high-water mark, under a new origin, is counted once, and one fixed at the source leaves the
-- quarantine. Rows without a key leave it when their origin is read again, as before.
alter table quarantine add column row_key varchar;
