-- One row per (part, feature, value) of one model's text and boolean columns, each part a
-- window of days ($parts: a list of {part, since, until}, `until` exclusive), from the per-day
-- value counts. A capped day keeps its capped row (value NULL, capped true).
with parts as (
    select unnest($parts, recursive := true)
),

final as (
    select parts.part, v.feature, v.value, sum(v.n) as n, v.capped
    from drift_profile_values as v
    join parts on v.day >= parts.since and v.day < parts.until
    where v.model = $model
    group by all
)

select * from final
