-- The source_holdings step of sql/macros.sql read back from the table the sync stored it in
-- (profiling/stored_steps.py), for a connection whose warehouse still holds the rows it counted
-- (metrics/db.py prepare): the same rows, without counting every inference row per source.
create or replace temp macro source_holdings() as table
    select source, feed, row_count, latest_at
    from source_holdings_stored;
