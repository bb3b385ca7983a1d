-- Up to $per_day ok inference rows of one model per UTC day in [$since, $until), the columns in
-- $columns only, with the day they fell on: the bounded rows the estimators and the
-- multivariate drift read. Rows are picked by a hash of their id (the $per_day smallest hashes
-- of the day), so the same days always give the same sample, however often it is asked for.
with scoped as materialized (
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

-- Hashes are uniform over the 64-bit range, so a day of n rows has its $per_day smallest below
-- about $per_day / n of it. The bound keeps that share plus four standard deviations (and 16
-- rows), so nearly every day keeps at least $per_day rows with one pass and no sort of the day.
bounds as (
    select
        day,
        count(*) as day_rows,
        least(
            1.0,
            ($per_day + 4 * sqrt($per_day) + 16) / count(*)
        ) * 18446744073709551615.0 as bound
    from scoped
    group by day
),

kept as (
    select scoped.*
    from scoped
    inner join bounds on scoped.day = bounds.day
    where bounds.bound >= 18446744073709551615.0 or scoped.pick <= cast(bounds.bound as ubigint)
),

-- A day the bound left short of min($per_day, its rows) (a few in a million) keeps all its
-- rows instead: the pick is exact either way.
short as (
    select bounds.day
    from bounds
    left join (select day, count(*) as n from kept group by day) as counted
        on bounds.day = counted.day
    where coalesce(counted.n, 0) < least($per_day, bounds.day_rows)
),

candidates as (
    select * from kept
    where day not in (select day from short)
    union all by name
    select scoped.* from scoped
    where scoped.day in (select day from short)
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
