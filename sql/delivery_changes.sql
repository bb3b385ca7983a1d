-- One row per change behind the lead time: shipped by a production deployment that finished in
-- the window, or not shipped yet and merged (else first committed) in the window.
with final as (
    select
        *,
        lead_time_hours < 0 as is_left_out
    from change_shipping()
    where (
            (shipped_at >= $since and shipped_at < $until
                and ($team is null or team = $team)
                and ($model is null or model = $model))
            or (shipping_deployment_id is null
                and coalesce(merged_at, first_commit_at) >= $since
                and coalesce(merged_at, first_commit_at) < $until
                and $team is null and $model is null)
        )
    order by coalesce(shipped_at, merged_at, first_commit_at), change_id
)

select * from final
