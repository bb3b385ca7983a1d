-- A scoped view (metrics/access.py restrict): no row of {base}, a table no rule scopes yet, so a
-- new table is hidden from non-admins until it has one. {view} and {base} are identifiers.
create or replace temp view {view} as
select * from {base}
where false
