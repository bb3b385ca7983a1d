-- One row per incident opened in the window, with the deployment it is attributed to (null when
-- none: an unattributed incident, shown apart) and its recovery time in hours.
with final as (
    select *, attributed_deployment_id is null as is_unattributed
    from incident_attribution()
    where opened_at >= $since and opened_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
    order by opened_at, incident_id
)

select * from final
