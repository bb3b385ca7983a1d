-- One row per hand-off (from role -> to role) whose waits ended in the window [$since, $until):
-- how many, and the median and p85 wait in hours. Most frequent first.
with handoff_stays as (
    select *
    from flow_handoff_stays(
        $since, $until, $team, $model,
        $active_statuses, $waiting_statuses, $blocked_statuses, $done_statuses, $dropped_statuses
    )
),

final as (
    select
        handoff,
        from_role,
        to_role,
        count(*) as handoffs,
        quantile_cont(wait_hours, 0.5) as median_wait_hours,
        quantile_cont(wait_hours, 0.85) as p85_wait_hours
    from handoff_stays
    group by handoff, from_role, to_role
    order by handoffs desc, handoff
)

select * from final
