-- One row for the window: lead time for changes shipped by a successful production deployment
-- that finished in the window: median and p90 in hours over the non-negative spans, how many
-- changes that is, and how many were left out for a negative span.
with shipped as (
    select lead_time_hours
    from change_shipping()
    where shipped_at >= $since and shipped_at < $until
        and ($team is null or team = $team)
        and ($model is null or model = $model)
),

final as (
    select
        quantile_cont(lead_time_hours, 0.5) filter (where lead_time_hours >= 0) as median_hours,
        quantile_cont(lead_time_hours, 0.9) filter (where lead_time_hours >= 0) as p90_hours,
        count(*) filter (where lead_time_hours >= 0) as changes,
        count(*) filter (where lead_time_hours < 0) as left_out
    from shipped
)

select * from final
