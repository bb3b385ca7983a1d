-- One row per (part, feature, bin) of numeric columns: how many values, their min, max, mean and
-- m2 (sum of squared deviations from the bin's mean, taken about the bin's lower edge, and
-- exactly 0 when the bin holds one value);
-- bin NULL counts the missing values.
-- `part` is a day at sync and a side (reference or current) for two frames. The columns CTE
-- holds one branch per column, built by profiling/queries.py from
-- drift_profile_column_numeric.sql. Portable SQL (profiling/portable.py): it runs as it is on
-- DuckDB and transpiled on Spark, PostgreSQL and the engines a `sql` source reaches.
with long_rows as (
    {columns}
),

final as (
    select
        part,
        feature,
        bin,
        count(*) as n,
        min(v) as minimum,
        max(v) as maximum,
        avg(v) as mean,
        -- A bin of one repeated value has no spread: 0 exactly, not each engine's rounding
        -- noise (Spark gives 1e-27 where DuckDB gives 0), so profiles compare across engines.
        case when min(v) = max(v) then 0.0 else var_pop(v - edge) * count(v) end as m2
    from long_rows
    group by part, feature, bin
)

select * from final
