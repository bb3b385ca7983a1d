-- One row per (model, model_version) with ok inference rows in [$since, $until), or one row
-- per model with every version pooled (model_version null) when $by_version is false: rows,
-- labelled rows, and the mean absolute and root mean squared error of prediction vs label.
with scoped as (
    select
        model,
        -- pooling a model's versions is grouping by a key that is the same for all of them
        case when $by_version then model_version end as model_version,
        prediction,
        label
    from inference
    where ts >= $since and ts < $until
        and ($model is null or model = $model)
        and status = 'ok'
),

errors as (
    select
        model,
        model_version,
        label,
        prediction - label as error
    from scoped
),

final as (
    select
        model,
        model_version,
        count(*) as rows,
        count(label) as labelled,
        count(label) / count(*) as labelled_share,
        -- avg skips the null errors of rows without a prediction or a label
        avg(abs(error)) as mae,
        sqrt(avg(error * error)) as rmse
    from errors
    group by model, model_version
    order by model, model_version
)

select * from final
