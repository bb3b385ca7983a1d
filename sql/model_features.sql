-- One row per feature of one model: its name and stored type.
with final as (
    select feature, data_type
    from inference_features
    where model = $model
    order by feature
)

select * from final
