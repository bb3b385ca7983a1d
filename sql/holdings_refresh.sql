-- Store the source_holdings step of sql/macros.sql (created on the same connection first) for
-- the whole warehouse (profiling/stored_steps.py refresh): one row per (source, feed).
create or replace table source_holdings_stored as
select * from source_holdings();
