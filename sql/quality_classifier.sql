-- One row per (model, model_version) with ok inference rows in [$since, $until), or one row
-- per model with every version pooled (model_version null) when $by_version is false: rows,
-- labelled rows, accuracy, precision and recall of the predicted class (positive class = label
-- 1) and the ROC AUC of the score.
with scoped as (
    select
        model,
        -- pooling a model's versions is grouping by a key that is the same for all of them
        case when $by_version then model_version end as model_version,
        prediction,
        score,
        label
    from inference
    where ts >= $since and ts < $until
        and ($model is null or model = $model)
        and status = 'ok'
),

classified as (
    select
        model,
        model_version,
        label,
        score,
        -- a row with only a score is classed by the threshold, as a caller would
        coalesce(prediction, cast(score >= $threshold as double)) as predicted_class,
        label is not null and score is not null as is_ranked
    from scoped
),

-- Only rows with both a label and a score are ranked: grouped by score first, so the ranks
-- come from a sort of the distinct scores instead of every row of the window.
score_counts as (
    select
        model,
        model_version,
        score,
        count(*) as tied,
        count(*) filter (where label = 1) as positives
    from classified
    where is_ranked
    group by model, model_version, score
),

score_ranks as (
    select
        model,
        model_version,
        tied,
        positives,
        -- tied scores share the mean of the ranks they span (Mann-Whitney), as sklearn does:
        -- the rows below, plus the middle of the tie's own ranks
        coalesce(
            sum(tied) over (
                partition by model, model_version order by score
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) + (tied + 1) / 2 as score_rank
    from score_counts
),

rank_sums as (
    select
        model,
        model_version,
        cast(sum(positives) as bigint) as ranked_positives,
        cast(sum(tied - positives) as bigint) as ranked_negatives,
        sum(positives * score_rank) filter (where positives > 0) as positive_rank_sum
    from score_ranks
    group by model, model_version
),

counted as (
    select
        model,
        model_version,
        count(*) as rows,
        count(label) as labelled,
        count(*) filter (where label is not null and predicted_class is not null) as judged,
        count(*) filter (where predicted_class = label) as correct,
        count(*) filter (where predicted_class = 1 and label = 1) as true_positives,
        count(*) filter (where predicted_class = 1 and label is not null) as predicted_positives,
        count(*) filter (where label = 1 and predicted_class is not null) as actual_positives
    from classified
    group by model, model_version
),

tallied as (
    select
        counted.*,
        coalesce(rank_sums.ranked_positives, 0) as ranked_positives,
        coalesce(rank_sums.ranked_negatives, 0) as ranked_negatives,
        rank_sums.positive_rank_sum
    from counted
    left join rank_sums
        on counted.model = rank_sums.model
        and counted.model_version is not distinct from rank_sums.model_version
),

final as (
    select
        model,
        model_version,
        rows,
        labelled,
        labelled / rows as labelled_share,
        case when judged > 0 then correct / judged end as accuracy,
        case
            when predicted_positives > 0 then true_positives / predicted_positives
        end as precision,
        case when actual_positives > 0 then true_positives / actual_positives end as recall,
        case
            when ranked_positives > 0 and ranked_negatives > 0
                then (positive_rank_sum - ranked_positives * (ranked_positives + 1) / 2)
                    / (ranked_positives * ranked_negatives)
        end as roc_auc
    from tallied
    order by model, model_version
)

select * from final
