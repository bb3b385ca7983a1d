-- One row per (source, feed, reason): how many rows were quarantined for it.
with final as (
    select source, feed, reason, count(*) as row_count
    from quarantine
    group by all
    order by row_count desc
)

select * from final
