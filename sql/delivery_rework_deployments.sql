-- One row per successful production deployment that finished in the window: whether it is
-- rework and every reason that applies (its kind, the incident-fixing changes it ships, the
-- incidents of its model open when it finished).
with final as (
    select *
    from deployment_rework()
    where finished_at >= $since and finished_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
    order by finished_at, deployment_id
)

select * from final
