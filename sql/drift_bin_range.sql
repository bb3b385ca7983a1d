-- One row: per numeric column, the [low, high] range its fixed bins span (the 0.1% and 99.9%
-- quantiles of a sample, or the exact min and max; chosen by metrics/profiles.py).
with final as (
    select {select}
    from {relation}
)

select * from final
