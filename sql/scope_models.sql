-- One row per model a signed-in person may see: one of its teams (in the warehouse or in its
-- contract) is theirs (metrics/access.py restrict), filled from the $models parameter.
create or replace temp table scope_models as
select distinct unnest(cast($models as varchar[])) as model
