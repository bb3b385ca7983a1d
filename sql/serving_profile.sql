-- One row per (part, model_version, latency bin) of one model's inference rows: how many
-- requests, how many errors (status 'error'), their latency's min and max in ms, and the first
-- and last request time. Bins are log-spaced and the same for every model and day, so days and
-- versions add up: bin = floor(ln(latency_ms) * {per_unit}), each bin 1% wide; {floor_bin}
-- holds latencies of 0 ms or less, bin NULL the requests with no finite latency.
-- `part` is a row's UTC day. Portable SQL (profiling/portable.py): it runs as it is on DuckDB and
-- transpiled on Spark, PostgreSQL and the engines a `sql` source reaches; {relation} holds the
-- rows under the contract's names (profiling/remote.py).
with scoped as (
    select
        {part} as part,
        coalesce(model_version, '(none)') as model_version,
        -- NaN and infinities are not latencies (x - x is 0 for finite x only).
        case when latency_ms - latency_ms = 0 then latency_ms end as latency_ms,
        case when status = 'error' then 1 else 0 end as is_error,
        ts
    from {relation} as contract_rows
),

binned as (
    select
        part,
        model_version,
        latency_ms,
        is_error,
        ts,
        case
            when latency_ms is null then null
            when latency_ms <= 0 then {floor_bin}
            else cast(floor(ln(latency_ms) * {per_unit}) as bigint)
        end as bin
    from scoped
),

final as (
    select
        part as day,
        model_version,
        bin,
        count(*) as n,
        sum(is_error) as errors,
        min(latency_ms) as minimum,
        max(latency_ms) as maximum,
        min(ts) as first_seen_at,
        max(ts) as last_seen_at
    from binned
    group by part, model_version, bin
)

select * from final
