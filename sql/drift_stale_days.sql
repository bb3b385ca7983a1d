-- One row per (model, day) whose drift profile is missing or out of date: the day's inference
-- rows changed (count or newest synced_at) since it was profiled, or the day has no rows now.
-- Days a source profiled on its own engine (drift_profile_days.source set) are that source's:
-- they have no inference rows to compare with, and are never listed here. DuckDB only (the
-- warehouse's own bookkeeping, not a profile query).
-- The UTC day is counted from epoch microseconds and made a date after grouping: casting every
-- timestamptz to a date goes through the time zone, several times slower on 20M rows.
with by_epoch_day as (
    select
        model,
        floor(epoch_us(ts) / 86400000000) as epoch_day,
        count(*) as rows,
        max(synced_at) as synced_max
    from inference
    group by all
),

actual as (
    select
        model,
        date '1970-01-01' + cast(epoch_day as integer) as day,
        rows,
        synced_max
    from by_epoch_day
),

profiled_here as (
    select model, day, rows, synced_max
    from drift_profile_days
    where source is null
),

profiled_remotely as (
    select distinct model, day
    from drift_profile_days
    where source is not null
),

final as (
    select
        coalesce(actual.model, stored.model) as model,
        coalesce(actual.day, stored.day) as day,
        actual.rows,
        actual.synced_max
    from actual
    full join profiled_here as stored
        on actual.model = stored.model and actual.day = stored.day
    anti join profiled_remotely as remote
        on remote.model = coalesce(actual.model, stored.model)
        and remote.day = coalesce(actual.day, stored.day)
    where actual.rows is distinct from stored.rows
        or actual.synced_max is distinct from stored.synced_max
    order by 1, 2
)

select * from final
