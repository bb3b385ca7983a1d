-- One row per inference row of one model in [since, until) with a value in column $feature:
-- the raw values a drift score near its threshold is settled from.
with final as (
    select columns(lambda c: c = $feature) as v
    from inference
    where model = $model and ts >= $since and ts < $until
)

select v from final where v is not null
