-- One row per incident opened in the window, newest first, with its time to resolve.
with final as (
    select
        incident_id,
        model,
        team,
        severity,
        title,
        opened_at,
        resolved_at,
        deployment_id,
        resolved_at is null as is_open,
        date_diff('second', opened_at, resolved_at) / 3600.0 as hours_to_resolve,
        source
    from incidents
    where opened_at >= $since and opened_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
    order by opened_at desc
)

select * from final
