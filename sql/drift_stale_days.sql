-- One row per (model, day) whose drift profile is missing or out of date: the day's inference
-- rows changed (count or newest synced_at) since it was profiled, or the day has no rows now.
with actual as (
    select
        model,
        cast(date_trunc('day', ts) as date) as day,
        count(*) as rows,
        max(synced_at) as synced_max
    from inference
    group by all
),

final as (
    select
        coalesce(actual.model, stored.model) as model,
        coalesce(actual.day, stored.day) as day,
        actual.rows,
        actual.synced_max
    from actual
    full join drift_profile_days as stored
        on actual.model = stored.model and actual.day = stored.day
    where actual.rows is distinct from stored.rows
        or actual.synced_max is distinct from stored.synced_max
    order by 1, 2
)

select * from final
