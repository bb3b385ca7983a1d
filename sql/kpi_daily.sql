-- One row per (model, kpi, UTC day) in the window: the KPI over all its segments, ratios as
-- sum(numerator) / sum(denominator), value-only KPIs as the mean of the segments (kpi_value in
-- macros.sql; which rows count: kpi_rows).
with chosen as (
    select * from kpi_rows($since, $until, $team, $model)
),

final as (
    select
        model,
        kpi,
        date,
        kpi_value(numerator, denominator, value) as value,
        any_value(unit) as unit,
        any_value(target) as target,
        any_value(guardrail) as guardrail
    from chosen
    group by model, kpi, date
    order by model, kpi, date
)

select * from final
