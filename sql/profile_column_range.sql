-- One numeric column's finite values as (feature, low, high) over the rows a source is about to
-- profile for the first time: the range a provisional histogram spans, from which the column's
-- fixed bins are derived (profiling/remote.py). Portable SQL (profiling/portable.py): one
-- branch per column, joined by UNION ALL; {feature} is an inlined literal, {column} a quoted
-- name.
select
    {feature} as feature,
    min(v) as low,
    max(v) as high
from (
    select case when x - x = 0 then x end as v
    from (
        select cast({column} as double) as x
        from {relation} as source_rows
    ) as typed
) as cleaned
