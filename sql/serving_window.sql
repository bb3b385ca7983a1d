-- One row per model with inference rows in the window: requests, errors, error rate and
-- latency p50/p95/p99 in ms over the whole window (serving_health in macros.sql).
with scoped as (
    select model, latency_ms, status
    from inference
    where ts >= $since and ts < $until
        and ($model is null or model = $model)
        and ($team is null or model in (select model from team_models($team)))
),

grouped as (
    select model, serving_health(latency_ms, status) as s
    from scoped
    group by model
),

final as (
    select model, s.*
    from grouped
    order by model
)

select * from final
