-- One row per (KPI of a production deployment's model, UTC day) from $days days before the
-- deployment's day to $days days after it: the KPI per day as in kpi_daily, null on a day
-- without data (a gap, not a made-up 0), and the side of the release the day is on.
with release as (
    select deployment_id, model, cast(finished_at as date) as release_day
    from production_deployments()
    where deployment_id = $deployment_id
        and model is not null
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

chosen as (
    select kpi_row.*
    from release
    inner join kpi_rows(
        (select min(release_day) - cast($days as integer) from release),
        (select max(release_day) + cast($days as integer) + 1 from release),
        null,
        (select min(model) from release)
    ) as kpi_row
        on kpi_row.model = release.model
),

kpis as (
    select kpi, arg_max(unit, date) as unit
    from chosen
    group by kpi
),

spine as (
    select
        release.*,
        kpis.kpi,
        kpis.unit,
        cast(offsets.offset_days as integer) as day_offset
    from release
    cross join kpis
    cross join
        generate_series(-cast($days as integer), cast($days as integer)) as offsets(offset_days)
),

daily as (
    select
        kpi,
        date,
        kpi_value(numerator, denominator, value) as value
    from chosen
    group by kpi, date
),

final as (
    select
        spine.deployment_id,
        spine.model,
        spine.kpi,
        spine.release_day + spine.day_offset as date,
        spine.day_offset,
        case
            when spine.day_offset < 0 then 'before'
            when spine.day_offset > 0 then 'after'
            else 'release day'
        end as side,
        daily.value,
        spine.unit
    from spine
    left join daily
        on daily.kpi = spine.kpi and daily.date = spine.release_day + spine.day_offset
    order by spine.kpi, date
)

select * from final
