-- One row per (model, kpi): the KPI over the whole window [$since, $until), ratios as
-- sum(numerator) / sum(denominator) over all days and segments; with its target and guardrail
-- (kpi_value in macros.sql; which rows count: kpi_rows).
with chosen as (
    select * from kpi_rows($since, $until, $team, $model)
),

final as (
    select
        model,
        kpi,
        kpi_value(numerator, denominator, value) as value,
        count(distinct date) as days,
        any_value(unit) as unit,
        arg_max(target, date) as target,
        arg_max(guardrail, date) as guardrail
    from chosen
    group by model, kpi
    order by model, kpi
)

select * from final
