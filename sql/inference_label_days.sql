-- One row per model with ok inference rows in [$since, $until): the UTC days with rows, and
-- how many of them have no labelled row yet (what an estimate on that window stands in for).
with scoped as (
    select
        model,
        utc_day(ts) as day,
        label
    from inference
    where ts >= $since and ts < $until
        and ($model is null or model = $model)
        and status = 'ok'
),

days as (
    select
        model,
        day,
        count(label) > 0 as has_labels
    from scoped
    group by model, day
),

final as (
    select
        model,
        count(*) as days,
        count(*) filter (where not has_labels) as unlabelled_days
    from days
    group by model
    order by model
)

select * from final
