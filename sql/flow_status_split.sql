-- One row per status (compared as lower(trim(status))) that tickets finished in the window
-- [$since, $until) spent time in between their first active move and finishing: hours summed
-- over those tickets, and how many of them were in it. The rows add up to the cycle time.
with cycle_stays as (
    select *
    from flow_cycle_stays(
        $team, $model, $since, $until,
        $active_statuses, $waiting_statuses, $blocked_statuses, $done_statuses, $dropped_statuses
    )
    where finished_at >= $since and finished_at < $until
),

-- the status as most of its transitions spell it ("In Progress" over "IN PROGRESS")
spellings as (
    select
        status_key,
        status
    from cycle_stays
    group by status_key, status
    qualify row_number() over (partition by status_key order by count(*) desc, status desc) = 1
),

per_status as (
    select
        status_key,
        any_value(kind) as kind,
        sum(hours) as hours,
        count(distinct ticket_id) as tickets
    from cycle_stays
    group by status_key
),

final as (
    select
        spellings.status,
        per_status.kind,
        per_status.hours,
        per_status.tickets
    from per_status
    inner join spellings on spellings.status_key = per_status.status_key
    order by per_status.hours desc, spellings.status
)

select * from final
