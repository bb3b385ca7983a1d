-- One row per (model, model_version) with inference rows in the window: requests, errors,
-- error rate and latency p50/p95/p99 in ms over the whole window.
with scoped as (
    select model, coalesce(model_version, '(none)') as model_version, latency_ms, status, ts
    from inference
    where ts >= $since and ts < $until
        and ($model is null or model = $model)
),

final as (
    select
        model,
        model_version,
        min(ts) as first_seen_at,
        max(ts) as last_seen_at,
        count(*) as requests,
        count(*) filter (where status = 'error') as errors,
        count(*) filter (where status = 'error') / count(*) as error_rate,
        quantile_cont(latency_ms, 0.5) as latency_p50_ms,
        quantile_cont(latency_ms, 0.95) as latency_p95_ms,
        quantile_cont(latency_ms, 0.99) as latency_p99_ms
    from scoped
    group by all
    order by model, first_seen_at
)

select * from final
