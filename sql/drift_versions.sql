-- One row per version of one model: the day it served its first request, newest first (the
-- choices for "the first N days of a version" as a drift reference).
with final as (
    select model_version as version, cast(date_trunc('day', min(ts)) as date) as first_day
    from inference
    where model = $model and model_version is not null
    group by all
    order by first_day desc, version desc
)

select * from final
