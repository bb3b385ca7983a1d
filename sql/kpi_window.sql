-- One row per (model, kpi): the KPI over the whole window [$since, $until), ratios as
-- sum(numerator) / sum(denominator) over all days and segments; with its target and guardrail.
with scoped as (
    select *
    from kpis
    where date >= cast($since as date) and date < cast($until as date)
        and ($model is null or model = $model)
        and ($model is not null or $team is null or model in (
            select distinct model from deployments where team = $team
            union select distinct model from incidents where team = $team
        ))
),

has_all as (
    select distinct model, kpi, date from scoped where segment = 'all'
),

chosen as (
    select scoped.*
    from scoped
    left join has_all using (model, kpi, date)
    where has_all.kpi is null or scoped.segment = 'all'
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
