-- One row per model with a research or experiment ticket created before $until: its first such
-- ticket, its first successful production deployment that finished after it (and before
-- $until), and the days between; a model not there yet counts the days it has waited until
-- $until. The team filter picks the tickets; deployments of the model count from any team.
with first_tickets as (
    select
        model,
        min(created_at) as first_ticket_at
    from flow_scope($team, $model)
    where model is not null
        and lower(trim(work_category)) in ('research', 'experiment')
        and created_at < $until
    group by model
),

production as (
    select
        model,
        finished_at
    from deployments
    where lower(environment) = 'production'
        and status = 'success'
        and finished_at < $until
        and model in (select model from first_tickets)
),

first_production as (
    select
        first_tickets.model,
        min(production.finished_at) as first_production_at
    from first_tickets
    inner join production
        on production.model = first_tickets.model
        and production.finished_at > first_tickets.first_ticket_at
    group by first_tickets.model
),

-- a model live before its first research ticket was prototyped before the tracker saw it
earlier_production as (
    select distinct first_tickets.model
    from first_tickets
    inner join production
        on production.model = first_tickets.model
        and production.finished_at <= first_tickets.first_ticket_at
),

final as (
    select
        first_tickets.model,
        first_tickets.first_ticket_at,
        first_production.first_production_at,
        (
            epoch(coalesce(first_production.first_production_at, cast($until as timestamptz)))
            - epoch(first_tickets.first_ticket_at)
        ) / 86400 as days,
        first_production.first_production_at is not null as is_in_production,
        earlier_production.model is not null as has_earlier_production
    from first_tickets
    left join first_production on first_production.model = first_tickets.model
    left join earlier_production on earlier_production.model = first_tickets.model
    order by is_in_production, days desc, first_tickets.model
)

select * from final
