-- One row per production deployment that finished in the window: its outcome and whether it
-- counts as a change failure (failed, rolled back, or with an attributed incident).
with final as (
    select *
    from deployment_outcomes()
    where finished_at >= $since and finished_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
    order by finished_at, deployment_id
)

select * from final
