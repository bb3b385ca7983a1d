-- One row for the window: successful production deployments that finished in it, those that
-- are rework (hotfix or rollback kind, shipping an incident fix, or during an open incident of
-- their model), and the rework rate (null without any deployment).
with scoped as (
    select is_rework
    from deployment_rework()
    where finished_at >= $since and finished_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

final as (
    select
        count(*) as deployments,
        count(*) filter (where is_rework) as rework_deployments,
        count(*) filter (where is_rework) / nullif(count(*), 0) as rework_rate
    from scoped
)

select * from final
