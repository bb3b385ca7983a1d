-- One row per model whose serving health in the window is read from serving profiles (no
-- inference rows in the window, profiles on a day it overlaps), with the sources whose engines
-- computed them: what the pages name when latency percentiles come from a histogram.
with profiled as (
    select distinct model, day
    from profiled_serving($since, $until, $team, $model)
),

final as (
    select profiled.model, string_agg(distinct days.source, ', ' order by days.source) as sources
    from profiled
    inner join drift_profile_days as days using (model, day)
    group by profiled.model
    order by profiled.model
)

select * from final
