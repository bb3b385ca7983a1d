-- Up to $per_day ok inference rows of one model per UTC day in [$since, $until), the columns in
-- $columns only, with the day they fell on: the bounded rows the estimators and the
-- multivariate drift read. Rows are picked by a hash of their id (the $per_day smallest hashes
-- of the day), so the same days always give the same sample, however often it is asked for.

-- Hashes are uniform over the 64-bit range, so a day of n rows has its $per_day smallest below
-- about $per_day / n of it. The bound keeps that share plus four standard deviations (and 16
-- rows), so nearly every day keeps at least $per_day rows with one pass and no sort of the day.
-- Counted first, from the few columns the count needs: the second pass keeps only the rows
-- under their day's bound, never the whole window.
with bounds as (
    select
        -- the UTC day from the instant's microseconds: the same date as
        -- cast(timezone('UTC', ts) as date), without a time zone lookup per row (5x faster)
        cast(floor(epoch_us(ts) / 86400000000) as integer) as day_number,
        count(*) as day_rows,
        case
            when ($per_day + 4 * sqrt($per_day) + 16) >= count(*) then 18446744073709551615
            else cast(
                ($per_day + 4 * sqrt($per_day) + 16) / count(*) * 18446744073709551615.0
                as ubigint
            )
        end as bound
    from inference
    where model = $model and ts >= $since and ts < $until and status = 'ok'
    group by day_number
),

kept as (
    select
        bounds.day_number,
        hash(request_id) as pick,
        request_id as picked_id,
        columns(lambda c: list_contains($columns, c))
    from inference
    inner join bounds
        on cast(floor(epoch_us(inference.ts) / 86400000000) as integer) = bounds.day_number
    where
        model = $model and ts >= $since and ts < $until and status = 'ok'
        and hash(request_id) <= bounds.bound
),

-- A day the bound left short of min($per_day, its rows) (a few in a million) keeps all its
-- rows instead: the pick is exact either way.
short as (
    select bounds.day_number
    from bounds
    left join (select day_number, count(*) as n from kept group by day_number) as counted
        on bounds.day_number = counted.day_number
    where coalesce(counted.n, 0) < least($per_day, bounds.day_rows)
),

candidates as (
    select * from kept
    where day_number not in (select day_number from short)
    union all by name
    select
        cast(floor(epoch_us(ts) / 86400000000) as integer) as day_number,
        hash(request_id) as pick,
        request_id as picked_id,
        columns(lambda c: list_contains($columns, c))
    from inference
    where
        model = $model and ts >= $since and ts < $until and status = 'ok'
        and cast(floor(epoch_us(ts) / 86400000000) as integer) in (select day_number from short)
),

final as (
    select *
    from candidates
    qualify row_number() over (partition by day_number order by pick, picked_id) <= $per_day
)

-- In the picking order within a day too: a parallel scan returns rows in any order, and an
-- estimator that splits its rows by position (DLE's held-out share) must see the same order.
select date '1970-01-01' + day_number as day, * exclude (day_number, pick, picked_id)
from final
order by day_number, pick, picked_id
