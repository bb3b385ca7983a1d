-- One row per (model, kpi, segment) over the window: the KPI of each segment, ratios as
-- sum(numerator) / sum(denominator) over the days, value-only KPIs as the mean of the days
-- (kpi_value in macros.sql).
with scoped as (
    select *
    from kpis
    where date >= cast($since as date) and date < cast($until as date)
        and ($model is null or model = $model)
        and ($model is not null or $team is null
            or model in (select model from team_models($team)))
),

final as (
    select
        model,
        kpi,
        segment,
        kpi_value(numerator, denominator, value) as value,
        sum(denominator) as denominator,
        count(distinct date) as days,
        any_value(unit) as unit
    from scoped
    group by model, kpi, segment
    order by model, kpi, segment
)

select * from final
