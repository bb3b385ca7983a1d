-- One row per model with ok inference rows (all time, not only the window): whether it reads
-- as a classifier (every label 0 or 1, every score in [0, 1]) or else a regressor.
with scoped as (
    select model, score, label
    from inference
    where ($model is null or model = $model)
        and status = 'ok'
),

final as (
    select
        model,
        case
            when bool_and(label is null or label in (0, 1))
                and bool_and(score is null or score between 0 and 1)
                then 'classifier'
            else 'regressor'
        end as kind
    from scoped
    group by model
    order by model
)

select * from final
