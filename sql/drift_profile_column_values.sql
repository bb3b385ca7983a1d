-- One text or boolean column as (part, feature, value) rows for drift_profile_values.sql.
-- Portable SQL (profiling/portable.py): {feature} is an inlined literal, {column} a quoted name.
select
    {part} as part,
    {feature} as feature,
    cast({column} as varchar) as value
from {relation} as source_rows
