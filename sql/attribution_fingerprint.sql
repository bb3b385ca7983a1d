-- One row: a fingerprint of every column the attribution steps of sql/macros.sql read (the
-- deployments, changes, incidents and ticket links): per table, its row count and the sum of its
-- rows' hashes (a sum, not a xor, so two equal rows do not cancel out). Equal
-- fingerprints mean the stored attribution (profiling/stored_steps.py) is still exact.
with deployment_rows as (
    select
        count(*) as n,
        sum(hash(deployment_id, model, environment, status, finished_at)) as h
    from deployments
),

change_rows as (
    select count(*) as n, sum(hash(change_id, deployment_id, title)) as h
    from changes
),

incident_rows as (
    select count(*) as n, sum(hash(incident_id, model, opened_at)) as h
    from incidents
),

ticket_rows as (
    select count(*) as n, sum(hash(ticket_id, incident_id)) as h
    from tickets
    where incident_id is not null
),

final as (
    select cast(hash(
        deployment_rows.n, deployment_rows.h,
        change_rows.n, change_rows.h,
        incident_rows.n, incident_rows.h,
        ticket_rows.n, ticket_rows.h
    ) as varchar) as fingerprint
    from deployment_rows, change_rows, incident_rows, ticket_rows
)

select * from final
