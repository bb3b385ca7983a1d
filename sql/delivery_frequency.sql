-- One row for the window: successful production deployments that finished in it, the distinct
-- UTC days with one, and the medians of deployment days per Monday-based week and per calendar
-- month over the weeks and months the window touches (zero-filled), for the DORA level.
with successes as (
    select finished_at, cast(finished_at as date) as deployed_on
    from production_deployments()
    where status = 'success'
        and finished_at >= $since and finished_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

weeks as (
    select unnest(range(
        date_trunc('week', cast($since as timestamptz)), cast($until as timestamptz),
        interval 7 day
    )) as week_start
),

months as (
    select unnest(range(
        date_trunc('month', cast($since as timestamptz)), cast($until as timestamptz),
        interval 1 month
    )) as month_start
),

days_per_week as (
    select weeks.week_start, count(distinct successes.deployed_on) as deployment_days
    from weeks
    left join successes on date_trunc('week', successes.finished_at) = weeks.week_start
    group by weeks.week_start
),

days_per_month as (
    select months.month_start, count(distinct successes.deployed_on) as deployment_days
    from months
    left join successes on date_trunc('month', successes.finished_at) = months.month_start
    group by months.month_start
),

final as (
    select
        (select count(*) from successes) as deployments,
        (select count(distinct deployed_on) from successes) as deployment_days,
        (select quantile_cont(deployment_days, 0.5) from days_per_week)
            as median_days_per_week,
        (select quantile_cont(deployment_days, 0.5) from days_per_month)
            as median_days_per_month
)

select * from final
