-- One row per UTC day in the window for one feature of one model: rows, missing share, and its
-- daily mean and quartiles (numeric) or the share of its most common value (categorical).
with scoped as (
    select
        utc_day(ts) as day,
        columns(lambda c: c = $feature) as value
    from inference
    where model = $model and ts >= $since and ts < $until
),

by_value as (
    select day, cast(value as varchar) as value, count(*) as n
    from scoped
    where value is not null
    group by all
),

top_share as (
    -- Among values equally common, the greatest (as text): the same pick on every run, and the
    -- one the profiles' daily figures make (metrics/drift/stored.py: daily_figures).
    select
        day,
        max(n) / sum(n) as top_value_share,
        arg_max(value, struct_pack(n := n, value := value)) as top_value
    from by_value
    group by day
),

numeric as (
    select
        day,
        count(*) as rows,
        count(*) filter (where value is null) / count(*) as missing_share,
        avg(try_cast(value as double)) as mean,
        quantile_cont(try_cast(value as double), 0.25) as p25,
        quantile_cont(try_cast(value as double), 0.5) as p50,
        quantile_cont(try_cast(value as double), 0.75) as p75
    from scoped
    group by day
),

final as (
    select numeric.*, top_share.top_value, top_share.top_value_share
    from numeric
    left join top_share using (day)
    order by day
)

select * from final
