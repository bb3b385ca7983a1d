-- One row per model with ok inference rows (all time, not only the window): its kind where
-- the rows leave no doubt, else null. A classifier logs classes 0/1, labels 0/1 and scores
-- in [0, 1]; a regressor is the only kind whose prediction can be fractional or negative (a
-- class and a position in a ranked list are both whole numbers from 0), unless it is a
-- probability of 0/1 labels. Anything else (whole numbers as predictions and labels, such as
-- positions and graded relevance, or counts) could be a ranker or a regressor: its kind is
-- left unknown rather than guessed.
-- Read from what each day's rows say, kept by the sync with the day's profiles
-- (inference_kind_days, profiling/store.py): not every row a model ever logged. A model with
-- rows and no day kept yet (rows loaded without a sync's profiling) is read from its rows.
with unkept as (
    select
        model,
        count(prediction) + count(score) + count(label) as outputs,
        bool_and(label is null or label in (0, 1)) as binary_labels,
        bool_and(prediction is null or prediction in (0, 1)) as binary_predictions,
        bool_and(score is null or score between 0 and 1) as unit_scores,
        bool_and(prediction is null or prediction between 0 and 1) as unit_predictions,
        coalesce(bool_or(prediction <> floor(prediction) or prediction < 0), false)
            as fractional_predictions
    from inference
    where ($model is null or model = $model)
        and status = 'ok'
        and model not in (select model from inference_kind_days)
    group by model
),

days as (
    select * exclude (day)
    from inference_kind_days
    where $model is null or model = $model
    union all by name
    select * from unkept
),

final as (
    select
        model,
        case
            when sum(outputs) = 0 then null
            when bool_and(binary_labels) and bool_and(binary_predictions) and bool_and(unit_scores)
                then 'classifier'
            -- a probability logged as the prediction of 0/1 labels is a classifier's score
            when bool_or(fractional_predictions)
                and not (bool_and(binary_labels) and bool_and(unit_predictions))
                then 'regressor'
        end as kind
    from days
    group by model
    order by model
)

select * from final
