-- What each UTC day's ok rows of one model say about its kind (inference_kind_days; read by
-- quality_kind.sql), from the rows the sync is profiling (profiling/store.py keeps them in the
-- temporary table tandem_profile_rows, each with its day).
insert into inference_kind_days
select
    $model as model,
    tandem_day as day,
    count(prediction) + count(score) + count(label) as outputs,
    bool_and(label is null or label in (0, 1)) as binary_labels,
    bool_and(prediction is null or prediction in (0, 1)) as binary_predictions,
    bool_and(score is null or score between 0 and 1) as unit_scores,
    bool_and(prediction is null or prediction between 0 and 1) as unit_predictions,
    coalesce(bool_or(prediction <> floor(prediction) or prediction < 0), false)
        as fractional_predictions
from tandem_profile_rows
where status = 'ok'
group by tandem_day
