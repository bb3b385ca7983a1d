-- One row per model: its latest successful production deployment before $until.
with final as (
    select model, max(finished_at) as released_at
    from production_deployments()
    where status = 'success' and finished_at < $until
        and ($model is null or model = $model)
    group by model
)

select * from final
