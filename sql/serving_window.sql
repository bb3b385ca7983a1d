-- One row per model with inference rows in the window: requests, errors, error rate and
-- latency p50/p95/p99 in ms over the whole window (not an average of daily percentiles).
with scoped as (
    select model, latency_ms, status
    from inference
    where ts >= $since and ts < $until
        and ($model is null or model = $model)
),

final as (
    select
        model,
        count(*) as requests,
        count(*) filter (where status = 'error') as errors,
        count(*) filter (where status = 'error') / count(*) as error_rate,
        quantile_cont(latency_ms, 0.5) as latency_p50_ms,
        quantile_cont(latency_ms, 0.95) as latency_p95_ms,
        quantile_cont(latency_ms, 0.99) as latency_p99_ms
    from scoped
    group by model
    order by model
)

select * from final
