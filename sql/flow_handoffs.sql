-- One row per hand-off wait that ended in the window [$since, $until): a stay in a waiting
-- status entered by one role and ended by another ("data_science->engineering" through "Ready
-- for Engineering"), with its wait in hours.
with handoff_stays as (
    select *
    from flow_handoff_stays(
        $since, $until, $team, $model,
        $active_statuses, $waiting_statuses, $blocked_statuses, $done_statuses, $dropped_statuses
    )
),

final as (
    select
        ticket_id,
        from_role,
        to_role,
        handoff,
        status,
        entered_at,
        left_at,
        wait_hours
    from handoff_stays
    order by left_at, ticket_id
)

select * from final
