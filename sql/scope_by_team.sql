-- A scoped view (metrics/access.py restrict): one row per row of {base} whose team is in scope;
-- rows with no team are hidden. {view} and {base} are identifiers, formatted in.
create or replace temp view {view} as
select * from {base}
where team in (select team from scope_teams)
