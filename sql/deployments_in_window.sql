-- One row per deployment (any environment) that finished in the window, newest first.
with final as (
    select
        deployment_id,
        model,
        version,
        environment,
        lower(environment) = 'production' as is_production,
        team,
        started_at,
        finished_at,
        status,
        commit_sha,
        source
    from deployments
    where finished_at >= $since and finished_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
    order by finished_at desc
)

select * from final
