-- One row per ticket finished in the window [$since, $until): when it started and finished, its
-- cycle time and the hours it spent active, waiting and blocked inside it, and whether it was
-- reopened. Newest first. Definitions in METRICS.md ("Throughput", "Cycle time").
with tickets as (
    select *
    from flow_tickets(
        $team, $model, $since, $until,
        $active_statuses, $waiting_statuses, $blocked_statuses, $done_statuses, $dropped_statuses
    )
),

finished as (
    select *
    from tickets
    where finished_at >= $since and finished_at < $until
),

final as (
    select
        ticket_id,
        title,
        team,
        model,
        work_category,
        finished_at,
        started_at,
        cycle_time_hours,
        active_hours,
        waiting_hours,
        blocked_hours,
        is_reopened
    from finished
    order by finished_at desc, ticket_id
)

select * from final
