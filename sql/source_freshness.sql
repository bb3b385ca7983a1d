-- One row per source that has ever run a sync: how many ran, the last one and how it ended,
-- the last successful one, and the hours from that success to $now (null when none succeeded).
with runs as (
    select
        source,
        any_value(kind) as kind,
        count(distinct sync_id) as syncs,
        max(finished_at) as last_sync_at,
        arg_max(status, finished_at) as last_status,
        max(finished_at) filter (where status = 'ok') as last_success_at
    from sync_runs
    group by source
),

final as (
    select
        source,
        kind,
        syncs,
        last_sync_at,
        last_status,
        last_success_at,
        date_diff('second', last_success_at, $now) / 3600.0 as hours_since_success
    from runs
    order by source
)

select * from final
