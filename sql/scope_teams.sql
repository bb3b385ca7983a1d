-- One row per team a signed-in person may see (metrics/access.py restrict): a temp table the
-- scoped views below read, filled from the $teams parameter.
create or replace temp table scope_teams as
select distinct unnest(cast($teams as varchar[])) as team
