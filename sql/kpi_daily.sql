-- One row per (model, kpi, UTC day) in the window: the KPI over all its segments.
-- Ratios aggregate as sum(numerator) / sum(denominator), never as a mean of daily ratios; a KPI
-- with an explicit 'all' segment on a day uses that row; other value-only KPIs average their segments.
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
