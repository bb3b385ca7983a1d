-- One row per model with ok inference rows (all time, not only the window): its kind where
-- the rows leave no doubt, else null. A classifier logs classes 0/1, labels 0/1 and scores
-- in [0, 1]; a regressor is the only kind whose prediction can be fractional or negative (a
-- class and a position in a ranked list are both whole numbers from 0), unless it is a
-- probability of 0/1 labels. Anything else (whole numbers as predictions and labels, such as
-- positions and graded relevance, or counts) could be a ranker or a regressor: its kind is
-- left unknown rather than guessed.
with scoped as (
    select model, prediction, score, label
    from inference
    where ($model is null or model = $model)
        and status = 'ok'
),

final as (
    select
        model,
        case
            when count(prediction) + count(score) + count(label) = 0 then null
            when bool_and(label is null or label in (0, 1))
                and bool_and(prediction is null or prediction in (0, 1))
                and bool_and(score is null or score between 0 and 1)
                then 'classifier'
            -- a probability logged as the prediction of 0/1 labels is a classifier's score
            when bool_or(prediction <> floor(prediction) or prediction < 0)
                and not (
                    bool_and(label is null or label in (0, 1))
                    and bool_and(prediction is null or prediction between 0 and 1)
                )
                then 'regressor'
        end as kind
    from scoped
    group by model
    order by model
)

select * from final
