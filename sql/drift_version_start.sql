-- One row: the day a model version served its first request (for "the first N days of a
-- version" as a drift reference).
with final as (
    select cast(date_trunc('day', min(ts)) as date) as first_day
    from inference
    where model = $model and model_version = $version
)

select * from final
