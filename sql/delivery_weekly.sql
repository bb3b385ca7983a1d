-- One row per Monday-based UTC week of the window (zero-filled): successful and attempted
-- production deployments, change failures and their rate, and the median lead time of the
-- changes shipped and the median recovery time of the incidents resolved that week; rework
-- deployments (deployment_rework) and the rework rate over that week's successful deployments.
with weeks as (
    select unnest(range(
        date_trunc('week', cast($since as timestamptz)), cast($until as timestamptz),
        interval 7 day
    )) as week_start
),

deploys as (
    select date_trunc('week', finished_at) as week_start, status, is_change_failure
    from deployment_outcomes()
    where finished_at >= $since and finished_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

rework as (
    select date_trunc('week', finished_at) as week_start, is_rework
    from deployment_rework()
    where finished_at >= $since and finished_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

rework_per_week as (
    select weeks.week_start, count(rework.is_rework) filter (where rework.is_rework)
        as rework_deployments
    from weeks
    left join rework using (week_start)
    group by weeks.week_start
),

lead_times as (
    select date_trunc('week', shipped_at) as week_start, lead_time_hours
    from change_shipping()
    where shipped_at >= $since and shipped_at < $until and lead_time_hours >= 0
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

recoveries as (
    select date_trunc('week', resolved_at) as week_start, recovery_time_hours
    from incident_attribution()
    where resolved_at >= $since and resolved_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

deploys_per_week as (
    select
        weeks.week_start,
        count(deploys.status) filter (where deploys.status = 'success') as deployments,
        count(deploys.status) as deployments_attempted,
        count(deploys.status) filter (where deploys.is_change_failure) as failed_deployments
    from weeks
    left join deploys using (week_start)
    group by weeks.week_start
),

lead_per_week as (
    select week_start, quantile_cont(lead_time_hours, 0.5) as lead_time_median_hours
    from lead_times
    group by week_start
),

recovery_per_week as (
    select week_start, quantile_cont(recovery_time_hours, 0.5) as recovery_median_hours
    from recoveries
    group by week_start
),

final as (
    select
        deploys_per_week.*,
        failed_deployments / nullif(deployments_attempted, 0) as change_failure_rate,
        rework_per_week.rework_deployments,
        rework_deployments / nullif(deployments, 0) as rework_rate,
        lead_per_week.lead_time_median_hours,
        recovery_per_week.recovery_median_hours
    from deploys_per_week
    left join rework_per_week using (week_start)
    left join lead_per_week using (week_start)
    left join recovery_per_week using (week_start)
    order by week_start
)

select * from final
