-- One row per part: the model's inference rows in each window of days ($parts), from the
-- profile bookkeeping (no raw row is read).
with parts as (
    select unnest($parts, recursive := true)
),

final as (
    select parts.part, coalesce(sum(days.rows), 0) as rows
    from parts
    left join drift_profile_days as days
        on days.model = $model and days.day >= parts.since and days.day < parts.until
    group by all
)

select * from final
