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
    select *
    from kind_days('inference', true)
    -- `or model is null` (never true: every row names its model) keeps this filter out of the
    -- macro's scan of the rows: pushed there, it made DuckDB read the model's rows to learn that
    -- none are unkept (0.13-0.2 s at 20M rows, against 0.02 s)
    where $model is null or model = $model or model is null
),

days as (
    select *
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
