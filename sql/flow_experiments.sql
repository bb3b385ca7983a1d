-- One row per experiment or research ticket finished in the window [$since, $until) that carries
-- an outcome label ($outcome_prefix then the outcome, e.g. "outcome:productionize"): what was
-- decided. With several outcome labels, the last one listed.
with finished as (
    select
        ticket_id,
        title,
        model,
        finished_at,
        labels
    from flow_tickets(
        $team, $model, $since, $until,
        $active_statuses, $waiting_statuses, $blocked_statuses, $done_statuses, $dropped_statuses
    )
    where finished_at >= $since and finished_at < $until
        and lower(trim(work_category)) in ('experiment', 'research')
),

labelled as (
    select
        ticket_id,
        unnest(labels) as label,
        generate_subscripts(labels, 1) as label_number
    from finished
),

outcomes as (
    select
        ticket_id,
        lower(trim(substr(trim(label), length(trim($outcome_prefix)) + 1))) as outcome
    from labelled
    where starts_with(lower(trim(label)), lower(trim($outcome_prefix)))
        and length(trim(label)) > length(trim($outcome_prefix))
    qualify row_number() over (partition by ticket_id order by label_number desc) = 1
),

final as (
    select
        finished.ticket_id,
        finished.title,
        finished.model,
        finished.finished_at,
        outcomes.outcome
    from finished
    inner join outcomes on outcomes.ticket_id = finished.ticket_id
    order by finished.finished_at desc, finished.ticket_id
)

select * from final
