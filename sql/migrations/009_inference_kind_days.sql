-- Schema version 9: per (model, UTC day), what the day's ok inference rows say about the model's
-- kind (sql/quality_kind.sql), kept by the sync with the day's profiles (profiling/store.py), so
-- a model's kind is read from a row a day instead of every inference row it ever logged (1.0-1.4 s
-- of CPU at 20M rows, on every cold page and report). A warehouse upgraded to this version gets
-- its days filled here, from the rows it holds.
create table if not exists inference_kind_days (
    model varchar not null,
    day date not null,
    -- count(prediction) + count(score) + count(label)
    outputs bigint not null,
    -- every label is null, 0 or 1; likewise every prediction; every score null or in [0, 1]
    binary_labels boolean not null,
    binary_predictions boolean not null,
    unit_scores boolean not null,
    -- every prediction null or in [0, 1]
    unit_predictions boolean not null,
    -- some prediction is fractional or negative
    fractional_predictions boolean not null
);

insert into inference_kind_days
select
    model,
    date '1970-01-01' + cast(floor(epoch_us(ts) / 86400000000) as integer) as day,
    count(prediction) + count(score) + count(label) as outputs,
    bool_and(label is null or label in (0, 1)) as binary_labels,
    bool_and(prediction is null or prediction in (0, 1)) as binary_predictions,
    bool_and(score is null or score between 0 and 1) as unit_scores,
    bool_and(prediction is null or prediction between 0 and 1) as unit_predictions,
    coalesce(bool_or(prediction <> floor(prediction) or prediction < 0), false)
        as fractional_predictions
from inference
where status = 'ok'
group by all;
