-- One row per (model, day) of a source's inference rows on its own engine: how many rows, and
-- the newest updated-at (or ts) among them, as text. A day whose signature changed since the
-- last sync is profiled again. Portable SQL (profiling/portable.py); {relation} holds the
-- source's rows under the contract's names (ts, model, updated_at), built by
-- profiling/remote.py.
with days as (
    select
        model,
        cast(ts as date) as day,
        updated_at
    from {relation} as source_rows
    where ts is not null and model is not null
),

final as (
    select
        model,
        day,
        count(*) as row_count,
        cast(max(updated_at) as varchar) as updated_max
    from days
    group by model, day
)

select * from final
