-- One row per (successful production deployment that finished in [$since, $until), KPI of its
-- model): the KPI over the $days whole UTC days before the deployment's day and over the $days
-- whole UTC days after it (the day itself in neither), ratios as sum(numerator) /
-- sum(denominator) (kpi_value in macros.sql); with the pooled counts and the mean and variance
-- of the daily values per side, from which metrics/business.py computes the interval (which
-- rows count: kpi_rows).
with releases as (
    select
        deployment_id,
        model,
        version,
        finished_at,
        cast(finished_at as date) as release_day,
        cast(finished_at as date) - cast($days as integer) as first_day,
        cast(finished_at as date) + cast($days as integer) as last_day
    from releases_in($since, $until, $team, $model)
),

chosen as (
    -- every release day lies in [date(since), date(until)], so this covers both sides of each
    select *
    from kpi_rows(
        cast($since as date) - cast($days as integer),
        cast($until as date) + cast($days as integer) + 1,
        null,
        $model
    )
),

sided as (
    select
        releases.deployment_id,
        chosen.kpi,
        chosen.date,
        chosen.value,
        chosen.numerator,
        chosen.denominator,
        chosen.unit,
        case when chosen.date < releases.release_day then 'before' else 'after' end as side
    from releases
    inner join chosen
        on chosen.model = releases.model
        and chosen.date >= releases.first_day
        and chosen.date <= releases.last_day
        and chosen.date <> releases.release_day
),

kinds as (
    -- a proportion: every row on both sides carries counts with 0 <= numerator <= denominator
    select
        deployment_id,
        kpi,
        bool_and(
            numerator is not null and denominator > 0
            and numerator >= 0 and numerator <= denominator
            and numerator = floor(numerator) and denominator = floor(denominator)
        ) as is_proportion,
        arg_max(unit, date) as unit
    from sided
    group by deployment_id, kpi
),

daily as (
    select
        deployment_id,
        kpi,
        side,
        date,
        kpi_value(numerator, denominator, value) as value
    from sided
    group by deployment_id, kpi, side, date
),

daily_spread as (
    select
        deployment_id,
        kpi,
        side,
        count(value) as days,
        avg(value) as daily_mean,
        var_samp(value) as daily_variance
    from daily
    group by deployment_id, kpi, side
),

pooled as (
    select
        deployment_id,
        kpi,
        side,
        kpi_value(numerator, denominator, value) as value,
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from sided
    group by deployment_id, kpi, side
),

sides as (
    select pooled.*, daily_spread.days, daily_spread.daily_mean, daily_spread.daily_variance
    from pooled
    inner join daily_spread using (deployment_id, kpi, side)
),

final as (
    select
        releases.deployment_id,
        releases.model,
        releases.version,
        releases.finished_at,
        kinds.kpi,
        kinds.unit,
        kinds.is_proportion,
        before.value as before_value,
        after.value as after_value,
        coalesce(before.days, 0) as before_days,
        coalesce(after.days, 0) as after_days,
        after.value - before.value as difference,
        case
            when before.value <> 0 then (after.value - before.value) / abs(before.value)
        end as relative_change,
        before.numerator as before_numerator,
        before.denominator as before_denominator,
        after.numerator as after_numerator,
        after.denominator as after_denominator,
        before.daily_mean as before_daily_mean,
        before.daily_variance as before_daily_variance,
        after.daily_mean as after_daily_mean,
        after.daily_variance as after_daily_variance
    from releases
    inner join kinds using (deployment_id)
    left join sides as before
        on before.deployment_id = kinds.deployment_id
        and before.kpi = kinds.kpi
        and before.side = 'before'
    left join sides as after
        on after.deployment_id = kinds.deployment_id
        and after.kpi = kinds.kpi
        and after.side = 'after'
    order by releases.finished_at, releases.deployment_id, kinds.kpi
)

select * from final
