-- One row per (part, feature, value) of every column (one branch each, from
-- drift_profile_column_values.sql), value NULL counting missing values. A (part, feature) with
-- more distinct values than $cap keeps one row instead: value NULL, capped, counting them all.
with long as (
    {columns}
),

counted as (
    select part, feature, value, count(*) as n
    from long
    group by all
),

distinct_values as (
    select part, feature, count(value) as distinct_count
    from counted
    group by all
),

final as (
    select counted.part, counted.feature, counted.value, counted.n, false as capped
    from counted
    join distinct_values using (part, feature)
    where counted.value is null or distinct_values.distinct_count <= $cap
    union all
    select counted.part, counted.feature, null as value, sum(counted.n) as n, true as capped
    from counted
    join distinct_values using (part, feature)
    where counted.value is not null and distinct_values.distinct_count > $cap
    group by all
)

select * from final
