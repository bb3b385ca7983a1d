-- One row per (part, feature, bin) of one model's numeric columns, each part a window of days
-- ($parts: a list of {part, since, until} with `until` exclusive): the per-day profiles added
-- up, means and m2 combined exactly (Chan et al.), so no raw row is read.
with parts as (
    select unnest($parts, recursive := true)
),

-- A part of one day is that day's stored rows as they are: the store keeps one row per (model,
-- feature, day, bin) (profiling/store.py deletes a day's rows before writing them), so there is
-- nothing to combine. A daily timeline is all such parts but its reference.
single_days as (
    select parts.part, bins.feature, bins.bin, bins.n, bins.minimum, bins.maximum, bins.mean, bins.m2
    from drift_profile_bins as bins
    inner join parts on bins.day = parts.since and parts.until = parts.since + 1
    where bins.model = $model
),

scoped as (
    select parts.part, bins.feature, bins.bin, bins.n, bins.minimum, bins.maximum, bins.mean, bins.m2
    from drift_profile_bins as bins
    inner join parts
        on bins.day >= parts.since and bins.day < parts.until and parts.until > parts.since + 1
    where bins.model = $model
),

totals as (
    select
        part,
        feature,
        bin,
        sum(n) as n,
        min(minimum) as minimum,
        max(maximum) as maximum,
        sum(n * mean) / nullif(sum(n) filter (where mean is not null), 0) as mean
    from scoped
    group by all
),

combined as (
    select
        totals.part,
        totals.feature,
        totals.bin,
        totals.n,
        totals.minimum,
        totals.maximum,
        totals.mean,
        sum(scoped.m2 + scoped.n * (scoped.mean - totals.mean) ^ 2) as m2
    from totals
    inner join scoped
        on scoped.part = totals.part
        and scoped.feature = totals.feature
        and scoped.bin is not distinct from totals.bin
    group by all
),

final as (
    select * from combined
    union all
    select * from single_days
)

select * from final
