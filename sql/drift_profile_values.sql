-- One row per (part, feature, value) of every column (one branch each, from
-- drift_profile_column_values.sql), value NULL counting missing values. A (part, feature) with
-- more distinct values than {cap} keeps one row instead: value NULL, capped, counting them all.
-- Portable SQL (profiling/portable.py): explicit GROUP BY (PostgreSQL 15 rejects GROUP BY ALL),
-- joins ON conditions, sums cast back to bigint (PostgreSQL sums bigints as numeric).
with long_values as (
    {columns}
),

counted as (
    select part, feature, value, count(*) as n
    from long_values
    group by part, feature, value
),

distinct_values as (
    select part, feature, count(value) as distinct_count
    from counted
    group by part, feature
),

final as (
    select counted.part, counted.feature, counted.value, counted.n, false as capped
    from counted
    join distinct_values
        on distinct_values.part = counted.part and distinct_values.feature = counted.feature
    where counted.value is null or distinct_values.distinct_count <= {cap}
    union all
    select
        counted.part,
        counted.feature,
        cast(null as varchar) as value,
        cast(sum(counted.n) as bigint) as n,
        true as capped
    from counted
    join distinct_values
        on distinct_values.part = counted.part and distinct_values.feature = counted.feature
    where counted.value is not null and distinct_values.distinct_count > {cap}
    group by counted.part, counted.feature
)

select * from final
