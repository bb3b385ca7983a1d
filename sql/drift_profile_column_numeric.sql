-- One numeric column as (part, feature, v, bin) rows for drift_profile_numeric.sql: NaN and
-- infinities count as missing (as Evidently drops them); bins are fixed per column.
select
    part,
    {feature} as feature,
    v,
    case
        when v is null then null
        when v < {lo} then -1
        when v >= {lo} + {width} * {bins} then {bins}
        else least(cast(floor((v - {lo}) / {width}) as integer), {bins} - 1)
    end as bin
from (
    select
        {part} as part,
        case when isfinite(cast({column} as double)) then cast({column} as double) end as v
    from {relation}
)
