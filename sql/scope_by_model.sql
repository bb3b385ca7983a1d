-- A scoped view (metrics/access.py restrict): one row per row of {base} whose model is in scope.
-- {view} and {base} are identifiers, formatted in.
create or replace temp view {view} as
select * from {base}
where model in (select model from scope_models)
