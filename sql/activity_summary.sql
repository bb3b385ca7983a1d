-- One row per headline count for the window [$since, $until): production deployments
-- (succeeded, failed or rolled back), incidents opened, tickets finished.
with production as (
    select status
    from deployments
    where lower(environment) = 'production'
        and finished_at >= $since and finished_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

opened_incidents as (
    select incident_id
    from incidents
    where opened_at >= $since and opened_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

finished_tickets as (
    select ticket_id
    from tickets
    where resolved_at >= $since and resolved_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

final as (
    select
        (select count(*) from production) as deployments,
        (select count(*) from production where status = 'success') as successful_deployments,
        (select count(*) from production where status in ('failed', 'rolled_back'))
            as failed_deployments,
        (select count(*) from opened_incidents) as incidents_opened,
        (select count(*) from finished_tickets) as tickets_finished
)

select * from final
