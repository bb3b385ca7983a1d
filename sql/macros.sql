-- Table macros the metric queries share; created on every read connection (metrics/db.py).

-- One row per KPI row that counts for the window: dates since <= date < until, the team's or
-- the model's KPIs, and on a day that has an explicit 'all' segment, that row alone (a source
-- that sends the total and its parts would otherwise count twice).
create or replace temp macro kpi_rows(since_at, until_at, team_name, model_name) as table
    with scoped as (
        select *
        from kpis
        where date >= cast(since_at as date) and date < cast(until_at as date)
            and (model_name is null or model = model_name)
            and (model_name is not null or team_name is null or model in (
                select distinct model from deployments where team = team_name
                union select distinct model from incidents where team = team_name
            ))
    ),

    has_all as (
        select distinct model, kpi, date from scoped where segment = 'all'
    ),

    final as (
        select scoped.*
        from scoped
        left join has_all using (model, kpi, date)
        where has_all.kpi is null or scoped.segment = 'all'
    )

    select * from final;
