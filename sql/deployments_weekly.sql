-- One row per Monday-based UTC week of the window: production deployments that finished in it,
-- by outcome. Zero-filled, so a quiet week shows 0.
with weeks as (
    select unnest(range(
        date_trunc('week', cast($since as timestamptz)),
        cast($until as timestamptz),
        interval 7 day
    )) as week_start
),

production as (
    select
        date_trunc('week', finished_at) as week_start,
        status
    from deployments
    where lower(environment) = 'production'
        and finished_at >= $since and finished_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

final as (
    select
        weeks.week_start,
        count(production.status) filter (where production.status = 'success') as succeeded,
        count(production.status) filter (where production.status = 'failed') as failed,
        count(production.status) filter (where production.status = 'rolled_back') as rolled_back
    from weeks
    left join production on production.week_start = weeks.week_start
    group by weeks.week_start
    order by weeks.week_start
)

select * from final
