-- One row per ticket in progress at $until: it first moved into an active status before $until
-- and, at $until, sat in a status that is neither done nor dropped (the board as it stood then).
-- Its age in days since that first active move, its status then and the role holding it.
-- Oldest first.
with stays_at_until as (
    select *
    from flow_ticket_stays(
        $team, $model, null, $until,
        $active_statuses, $waiting_statuses, $blocked_statuses, $done_statuses, $dropped_statuses
    )
    -- the one stay that holds the moment $until
    where entered_at < $until and (left_at is null or left_at >= $until)
),

scope as (
    select *
    from flow_scope($team, $model)
),

in_progress as (
    select
        scope.ticket_id,
        scope.title,
        scope.team,
        scope.model,
        scope.work_category,
        stays_at_until.status,
        stays_at_until.kind as status_kind,
        -- a ticket still in that status now: its current role (reassignments move no status)
        case
            when stays_at_until.left_at is null
                then coalesce(nullif(lower(trim(scope.role)), ''), stays_at_until.entering_role)
            else coalesce(stays_at_until.entering_role, nullif(lower(trim(scope.role)), ''))
        end as role,
        stays_at_until.started_at,
        stays_at_until.entered_at as status_since
    from stays_at_until
    inner join scope on scope.ticket_id = stays_at_until.ticket_id
    where stays_at_until.started_at < $until
        and stays_at_until.kind not in ('done', 'dropped')
),

final as (
    select
        ticket_id,
        title,
        team,
        model,
        work_category,
        status,
        status_kind,
        role,
        started_at,
        (epoch(cast($until as timestamptz)) - epoch(started_at)) / 86400 as age_days,
        (epoch(cast($until as timestamptz)) - epoch(status_since)) / 86400 as days_in_status
    from in_progress
    order by age_days desc, ticket_id
)

select * from final
