-- One row per failure that recovered in the window or is still unrecovered at its end: each
-- incident (recovery = resolved - opened), and each failed or rolled-back production deployment
-- without an incident (recovery = the next successful production deployment of its model).
-- Recovered: the recovery ended in [since, until). Unrecovered: the failure began in the
-- window and had not recovered by its end.
with incident_failures as (
    select
        'incident' as kind,
        incident_id as failure_id,
        attributed_deployment_id as deployment_id,
        model,
        team,
        opened_at as failed_at,
        resolved_at as recovered_at,
        recovery_time_hours
    from incident_attribution()
),

deployment_failures as (
    select
        'deployment' as kind,
        deployment_id as failure_id,
        deployment_id,
        model,
        team,
        finished_at as failed_at,
        restored_at as recovered_at,
        recovery_time_hours
    from deployment_outcomes()
    where is_failed and incidents = 0
),

failures as (
    select * from incident_failures
    union all
    select * from deployment_failures
),

final as (
    select
        *,
        recovered_at >= $since and recovered_at < $until as is_recovered_in_window,
        coalesce(recovered_at >= $until, true) as is_unrecovered
    from failures
    where ($team is null or team = $team)
        and ($model is null or model = $model)
        and (
            (recovered_at >= $since and recovered_at < $until)
            or (failed_at >= $since and failed_at < $until
                and coalesce(recovered_at >= $until, true))
        )
    order by failed_at
)

select * from final
