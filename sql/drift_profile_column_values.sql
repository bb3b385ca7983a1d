-- One text or boolean column as (part, feature, value) rows for drift_profile_values.sql.
select
    {part} as part,
    {feature} as feature,
    cast({column} as varchar) as value
from {relation}
