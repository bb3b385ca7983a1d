-- A scoped view (metrics/access.py restrict): one row per row of {base} whose team is in scope,
-- or that names no team and a model in scope. {view} and {base} are identifiers, formatted in.
create or replace temp view {view} as
select * from {base}
where team in (select team from scope_teams)
    or (team is null and model in (select model from scope_models))
