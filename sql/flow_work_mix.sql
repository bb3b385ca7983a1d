-- One row per work category of the tickets finished in the window [$since, $until): tickets and
-- share of all tickets finished (a missing category reads 'uncategorised'); shares sum to 1.
with finished as (
    select work_category
    from flow_tickets(
        $team, $model, $since, $until,
        $active_statuses, $waiting_statuses, $blocked_statuses, $done_statuses, $dropped_statuses
    )
    where finished_at >= $since and finished_at < $until
),

categorised as (
    select coalesce(nullif(lower(trim(work_category)), ''), 'uncategorised') as category
    from finished
),

final as (
    select
        category,
        count(*) as tickets,
        count(*) / sum(count(*)) over () as share
    from categorised
    group by category
    order by tickets desc, category
)

select * from final
