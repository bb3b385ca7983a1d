-- One row per (model, kpi): the KPI over the whole window [$since, $until), ratios as
-- sum(numerator) / sum(denominator) over all days and segments; with its target and guardrail
-- (which rows count: kpi_rows in macros.sql).
with chosen as (
    select * from kpi_rows($since, $until, $team, $model)
),

final as (
    select
        model,
        kpi,
        case
            when sum(denominator) > 0 then sum(numerator) / sum(denominator)
            else avg(value)
        end as value,
        count(distinct date) as days,
        any_value(unit) as unit,
        arg_max(target, date) as target,
        arg_max(guardrail, date) as guardrail
    from chosen
    group by model, kpi
    order by model, kpi
)

select * from final
