-- One row for the window [$since, $until) and the team/model filters: how many distinct people
-- are behind its team-level figures, never who they are. `authors`: distinct change authors of
-- the production deployments that finished in the window (a change counts for the deployment it
-- names and for the one that shipped it), the people behind the delivery figures. `assignees`:
-- distinct assignees of the tickets in scope that were open at some point in the window (on the
-- ticket, or on a transition made in the window), the people behind the flow figures. Unknown
-- people (null or blank names) are not counted.
with deployed as (
    select deployment_id
    from production_deployments()
    where finished_at >= $since and finished_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

linked as (
    select
        author,
        unnest([named_deployment_id, shipping_deployment_id]) as deployment_id
    from change_shipping()
),

authors as (
    select count(distinct trim(linked.author)) as authors
    from linked
    inner join deployed using (deployment_id)
    where nullif(trim(linked.author), '') is not null
),

open_tickets as (
    select ticket_id, assignee
    from flow_scope($team, $model)
    where created_at < $until and (resolved_at is null or resolved_at >= $since)
),

named_assignees as (
    select assignee from open_tickets
    union all
    select ticket_transitions.assignee
    from ticket_transitions
    inner join open_tickets using (ticket_id)
    where ticket_transitions."at" >= $since and ticket_transitions."at" < $until
),

assignees as (
    select count(distinct trim(assignee)) as assignees
    from named_assignees
    where nullif(trim(assignee), '') is not null
),

final as (
    select authors.authors, assignees.assignees
    from authors
    cross join assignees
)

select * from final
