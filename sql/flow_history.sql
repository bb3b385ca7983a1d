-- One row for the tickets in scope (team, model), whatever the window: how many there are and
-- how many have at least one status transition (a CSV export from a tracker has none).
with scope as (
    select ticket_id
    from flow_scope($team, $model)
),

moved as (
    select distinct ticket_id
    from ticket_transitions
    where ticket_id in (select ticket_id from scope)
),

final as (
    select
        (select count(*) from scope) as tickets,
        (select count(*) from moved) as tickets_with_history
)

select * from final
