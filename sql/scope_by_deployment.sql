-- A scoped view (metrics/access.py restrict): one row per row of {base} shipped by a deployment
-- in scope (the scoped `deployments` view, created first). {view} and {base} are identifiers.
create or replace temp view {view} as
select * from {base}
where deployment_id in (select deployment_id from deployments)
