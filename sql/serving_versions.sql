-- One row per (model, model_version) with inference rows in the window: when it was first and
-- last seen, requests, errors, error rate and latency p50/p95/p99 in ms over the whole window
-- (serving_health in macros.sql).
with scoped as (
    select model, coalesce(model_version, '(none)') as model_version, latency_ms, status, ts
    from inference
    where ts >= $since and ts < $until
        and ($model is null or model = $model)
        and ($team is null or model in (select model from team_models($team)))
),

grouped as (
    select
        model,
        model_version,
        min(ts) as first_seen_at,
        max(ts) as last_seen_at,
        serving_health(latency_ms, status) as s
    from scoped
    group by model, model_version
),

final as (
    select model, model_version, first_seen_at, last_seen_at, s.*
    from grouped
    order by model, first_seen_at
)

select * from final
