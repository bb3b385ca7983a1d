-- One row per (model, UTC day) in the window: requests, errors and latency percentiles
-- (serving_health in macros.sql).
with scoped as (
    select model, utc_day(ts) as day, latency_ms, status
    from inference
    where ts >= $since and ts < $until
        and ($model is null or model = $model)
        and ($team is null or model in (select model from team_models($team)))
),

grouped as (
    select model, day, serving_health(latency_ms, status) as s
    from scoped
    group by model, day
),

final as (
    select model, day, s.*
    from grouped
    order by model, day
)

select * from final
