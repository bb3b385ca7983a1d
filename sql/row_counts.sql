-- One row per canonical feed: how many rows the whole warehouse holds.
with counts as (
    select 'deployments' as feed, count(*) as row_count from deployments
    union all select 'changes', count(*) from changes
    union all select 'incidents', count(*) from incidents
    union all select 'inference', count(*) from inference
    union all select 'kpis', count(*) from kpis
    union all select 'tickets', count(*) from tickets
    union all select 'ticket_transitions', count(*) from ticket_transitions
),

final as (
    select feed, row_count from counts
)

select * from final
