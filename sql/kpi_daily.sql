-- One row per (model, kpi, UTC day) in the window: the KPI over all its segments.
-- Ratios aggregate as sum(numerator) / sum(denominator), never as a mean of daily ratios;
-- value-only KPIs average their segments (which rows count: kpi_rows in macros.sql).
with chosen as (
    select * from kpi_rows($since, $until, $team, $model)
),

final as (
    select
        model,
        kpi,
        date,
        case
            when sum(denominator) > 0 then sum(numerator) / sum(denominator)
            else avg(value)
        end as value,
        any_value(unit) as unit,
        any_value(target) as target,
        any_value(guardrail) as guardrail
    from chosen
    group by model, kpi, date
    order by model, kpi, date
)

select * from final
