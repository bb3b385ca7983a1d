-- One numeric column as (part, feature, v, bin, edge) rows for drift_profile_numeric.sql: NaN and
-- infinities count as missing, as Evidently drops them (x - x = 0 holds for finite x only, in
-- every engine); bins are fixed per column, [lo + k*width, lo + (k+1)*width). Portable SQL
-- (profiling/portable.py): profiling/queries.py inlines {feature}, {lo}, {width}, {top}, {bins}
-- as literals and {column} as a quoted identifier; the cast to integer comes after FLOOR.
select
    part,
    feature,
    v,
    bin,
    -- The bin's lower edge (0 outside the fixed range): m2 is taken about it, so it is computed
    -- on small numbers and engines agree on it to ~1e-16 of the bin width, not of the values.
    case when bin >= 0 and bin < {bins} then {lo} + bin * {width} else 0.0 end as edge
from (
    select
        part,
        {feature} as feature,
        v,
        case
            when v is null then null
            when v < {lo} then -1
            when v >= {top} then {bins}
            else least(cast(floor((v - {lo}) / nullif({width}, 0)) as integer), {bins} - 1)
        end as bin
    from (
        select
            part,
            case when x - x = 0 then x end as v
        from (
            select
                {part} as part,
                cast({column} as double) as x
            from {relation} as source_rows
        ) as typed
    ) as cleaned
) as binned
