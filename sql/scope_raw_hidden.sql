-- A scoped view (metrics/access.py restrict): one row per row of {base}, every row kept, its
-- `raw` content NULL (only admins read quarantined rows as the source sent them).
create or replace temp view {view} as
select * replace (cast(null as varchar) as raw) from {base}
