-- A sample of $rows of one model's inference rows in [since, until), the columns in $columns
-- only: what Evidently's own report is run on (it cannot take millions of rows in seconds).
-- Rows are picked by a hash of their id, so the same window always gives the same sample.
with scoped as (
    select hash(request_id) as pick, columns(lambda c: list_contains($columns, c))
    from inference
    where model = $model and ts >= $since and ts < $until
),

final as (
    select * exclude (pick)
    from scoped
    order by pick
    limit $rows
)

select * from final
