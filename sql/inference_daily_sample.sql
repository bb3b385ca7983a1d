-- Up to $per_day ok inference rows of one model per UTC day in [$since, $until), the columns in
-- $columns only, with the day they fell on: the bounded rows the estimators and the
-- multivariate drift read. Rows are picked by a hash of their id, so the same days always give
-- the same sample, however often it is asked for.
with scoped as (
    select
        -- the UTC day from the instant's microseconds: the same date as
        -- cast(timezone('UTC', ts) as date), without a time zone lookup per row (5x faster)
        date '1970-01-01' + cast(floor(epoch_us(ts) / 86400000000) as integer) as day,
        hash(request_id) as pick,
        request_id as picked_id,
        columns(lambda c: list_contains($columns, c))
    from inference
    where model = $model and ts >= $since and ts < $until and status = 'ok'
),

-- The $per_day-th smallest hash of each day (a top-n aggregate, no sort of the day's rows): a
-- row above it is never picked, so only the rows at or below it are ordered.
cutoffs as (
    select
        day,
        list_max(min(pick, $per_day)) as cutoff
    from scoped
    group by day
),

candidates as (
    select scoped.*
    from scoped
    inner join cutoffs on scoped.day = cutoffs.day
    where scoped.pick <= cutoffs.cutoff
),

final as (
    select *
    from candidates
    qualify row_number() over (partition by day order by pick, picked_id) <= $per_day
)

-- In the picking order within a day too: a parallel scan returns rows in any order, and an
-- estimator that splits its rows by position (DLE's held-out share) must see the same order.
select * exclude (pick, picked_id) from final
order by day, pick, picked_id
