-- One row per team and AI-assisted group (true, false, unknown) for the window, never per
-- person: lead time of the group's changes shipped in the window, change failure rate and
-- rework rate over the production deployments that finished in the window and carry a change of
-- the group (a change is linked to the deployment it names and to the one that shipped it; a
-- deployment with changes of two groups counts in both), and how many distinct change authors
-- those changes have (metrics/delivery.py withholds a group below [privacy] min_people).
with linked as (
    select
        change_id,
        author,
        ai_assisted,
        lead_time_hours,
        shipped_at,
        unnest([named_deployment_id, shipping_deployment_id]) as deployment_id
    from change_shipping()
),

grouped as (
    select distinct
        linked.change_id,
        linked.author,
        linked.lead_time_hours,
        linked.shipped_at,
        linked.deployment_id,
        case when linked.ai_assisted then 'true'
            when not linked.ai_assisted then 'false'
            else 'unknown' end as ai_assisted,
        outcomes.team,
        outcomes.status,
        outcomes.is_change_failure,
        coalesce(rework.is_rework, false) as is_rework
    from linked
    inner join deployment_outcomes() as outcomes using (deployment_id)
    left join deployment_rework() as rework using (deployment_id)
    where outcomes.finished_at >= $since and outcomes.finished_at < $until
        and ($team is null or outcomes.team = $team)
        and ($model is null or outcomes.model = $model)
),

deploys as (
    select distinct team, ai_assisted, deployment_id, status, is_change_failure, is_rework
    from grouped
),

deploy_figures as (
    select
        team,
        ai_assisted,
        count(*) as deployments_attempted,
        count(*) filter (where is_change_failure) as failed_deployments,
        count(*) filter (where status = 'success') as deployments,
        count(*) filter (where status = 'success' and is_rework) as rework_deployments
    from deploys
    group by all
),

shipped as (
    select distinct team, ai_assisted, change_id, lead_time_hours
    from grouped
    where shipped_at >= $since and shipped_at < $until and lead_time_hours >= 0
),

lead_figures as (
    select
        team,
        ai_assisted,
        quantile_cont(lead_time_hours, 0.5) as lead_time_median_hours,
        count(*) as changes
    from shipped
    group by all
),

people as (
    select team, ai_assisted, count(distinct author) as people
    from grouped
    group by all
),

final as (
    select
        deploy_figures.team,
        deploy_figures.ai_assisted,
        people.people,
        lead_figures.lead_time_median_hours,
        coalesce(lead_figures.changes, 0) as changes,
        deploy_figures.deployments_attempted,
        deploy_figures.failed_deployments,
        deploy_figures.failed_deployments / nullif(deploy_figures.deployments_attempted, 0)
            as change_failure_rate,
        deploy_figures.deployments,
        deploy_figures.rework_deployments,
        deploy_figures.rework_deployments / nullif(deploy_figures.deployments, 0) as rework_rate
    from deploy_figures
    left join lead_figures using (team, ai_assisted)
    left join people using (team, ai_assisted)
    order by deploy_figures.team, deploy_figures.ai_assisted
)

select * from final
