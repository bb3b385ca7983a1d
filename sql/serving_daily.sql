-- One row per (model, UTC day) in the window: requests, errors and latency percentiles.
with scoped as (
    select ts, model, latency_ms, status
    from inference
    where ts >= $since and ts < $until
        and ($model is null or model = $model)
),

final as (
    select
        model,
        cast(date_trunc('day', ts) as date) as day,
        count(*) as requests,
        count(*) filter (where status = 'error') as errors,
        count(*) filter (where status = 'error') / count(*) as error_rate,
        quantile_cont(latency_ms, 0.5) as latency_p50_ms,
        quantile_cont(latency_ms, 0.95) as latency_p95_ms,
        quantile_cont(latency_ms, 0.99) as latency_p99_ms
    from scoped
    group by all
    order by model, day
)

select * from final
