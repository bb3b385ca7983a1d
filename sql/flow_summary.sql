-- One row for the tickets finished in the window [$since, $until): throughput, cycle time median
-- and p85 (hours), flow efficiency, reopen rate and blocked hours. Empty window: counts 0,
-- medians and rates null.
with finished as (
    select *
    from flow_tickets(
        $team, $model, $since, $until,
        $active_statuses, $waiting_statuses, $blocked_statuses, $done_statuses, $dropped_statuses
    )
    where finished_at >= $since and finished_at < $until
),

final as (
    select
        count(*) as throughput,
        count(cycle_time_hours) as tickets_with_cycle_time,
        count(*) - count(cycle_time_hours) as tickets_without_cycle_time,
        quantile_cont(cycle_time_hours, 0.5) as cycle_time_median_hours,
        quantile_cont(cycle_time_hours, 0.85) as cycle_time_p85_hours,
        sum(active_hours) / nullif(sum(cycle_time_hours), 0) as flow_efficiency,
        -- is_reopened is null for a ticket with no history: left out of the rate
        avg(cast(is_reopened as double)) as reopen_rate,
        coalesce(sum(blocked_hours), 0) as blocked_hours_total,
        quantile_cont(blocked_hours, 0.5) filter (where blocked_hours > 0)
            as blocked_hours_median,
        count(*) filter (where blocked_hours > 0) as blocked_tickets
    from finished
)

select * from final
