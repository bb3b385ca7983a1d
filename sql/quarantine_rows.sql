-- One row per quarantined source row of one source (or all), newest first: which item (its key,
-- when one could be read), where and why.
with final as (
    select source, feed, row_key, origin, row_number, reason, raw, quarantined_at
    from quarantine
    where $source is null or source = $source
    order by quarantined_at desc, origin, row_number
    limit $limit
)

select * from final
