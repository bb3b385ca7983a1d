-- One row for the window: production deployments that finished in it, and those that failed
-- (failed, rolled back, or with at least one attributed incident); the rate is null without any.
with scoped as (
    select is_change_failure
    from deployment_outcomes()
    where finished_at >= $since and finished_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

final as (
    select
        count(*) as deployments_attempted,
        count(*) filter (where is_change_failure) as failed_deployments,
        count(*) filter (where is_change_failure) / nullif(count(*), 0) as change_failure_rate
    from scoped
)

select * from final
