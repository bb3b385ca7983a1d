-- One row per (model, model_version) with ok inference rows in [$since, $until), or one row
-- per model with every version pooled (model_version null) when $by_version is false: rows
-- (ranked items), labelled rows, lists, labelled lists, and precision@k, NDCG@k and hit
-- rate@k over the labelled lists.
-- A ranker logs one row per item it ranked: the item's position in `prediction` (1 = top),
-- its relevance in `label` (0/1 or graded). A list is the rows of one model and version that
-- share the column named by $list (`ts` when $list is null).
with scoped as (
    select
        model,
        model_version as served_version,
        -- pooling a model's versions is grouping by a key that is the same for all of them
        case when $by_version then model_version end as model_version,
        columns(lambda c: c = coalesce($list, 'ts')) as list_value,
        request_id,
        prediction,
        label
    from inference
    where ts >= $since and ts < $until
        and ($model is null or model = $model)
        and status = 'ok'
),

-- the items placed in a list: a row without a position or a list was shown in no list
items as (
    select
        *,
        -- unjudged items of a judged list count as not relevant, as in IR evaluation
        coalesce(label, 0) as relevance,
        -- a tie in position is broken by request_id, so every item has one rank
        row_number() over (
            partition by model, served_version, list_value order by prediction, request_id
        ) as list_rank,
        row_number() over (
            partition by model, served_version, list_value
            order by coalesce(label, 0) desc, request_id
        ) as ideal_rank
    from scoped
    where prediction is not null and list_value is not null
),

lists as (
    select
        model,
        model_version,
        served_version,
        list_value,
        count(label) > 0 as is_labelled,
        count(*) filter (where list_rank <= $k and relevance > 0) as hits,
        -- linear gain, log2 discount: what sklearn.metrics.ndcg_score computes
        sum(relevance / log2(list_rank + 1)) filter (where list_rank <= $k) as dcg,
        sum(relevance / log2(ideal_rank + 1)) filter (where ideal_rank <= $k) as ideal_dcg
    from items
    group by model, model_version, served_version, list_value
),

tallied_lists as (
    select
        model,
        model_version,
        count(*) as lists,
        count(*) filter (where is_labelled) as labelled_lists,
        avg(hits / $k) filter (where is_labelled) as precision_at_k,
        -- a judged list with nothing relevant scores 0, as sklearn scores it
        avg(case when ideal_dcg > 0 then dcg / ideal_dcg else 0 end)
            filter (where is_labelled) as ndcg_at_k,
        avg(case when hits > 0 then 1.0 else 0.0 end) filter (where is_labelled)
            as hit_rate_at_k
    from lists
    group by model, model_version
),

tallied_rows as (
    select
        model,
        model_version,
        count(*) as rows,
        count(label) as labelled
    from scoped
    group by model, model_version
),

final as (
    select
        tallied_rows.model,
        tallied_rows.model_version,
        tallied_rows.rows,
        tallied_rows.labelled,
        tallied_rows.labelled / tallied_rows.rows as labelled_share,
        coalesce(tallied_lists.lists, 0) as lists,
        coalesce(tallied_lists.labelled_lists, 0) as labelled_lists,
        $k as k,
        tallied_lists.precision_at_k,
        tallied_lists.ndcg_at_k,
        tallied_lists.hit_rate_at_k
    from tallied_rows
    left join tallied_lists
        on tallied_rows.model = tallied_lists.model
        and tallied_rows.model_version is not distinct from tallied_lists.model_version
    order by tallied_rows.model, tallied_rows.model_version
)

select * from final
