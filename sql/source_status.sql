-- One row per source that has synced: its last sync, how it ended, and what it holds now.
with last_runs as (
    select
        source,
        any_value(kind) as kind,
        max(finished_at) as last_sync_at,
        arg_max(status, finished_at) as last_status,
        arg_max(error, finished_at) as last_error
    from sync_runs
    group by source
),

last_ok as (
    select source, max(finished_at) as last_success_at
    from sync_runs
    where status = 'ok'
    group by source
),

held as (
    select source, feed, row_count, latest_at from source_holdings()
),

quarantined as (
    select source, feed, count(*) as quarantined
    from quarantine
    group by all
),

final as (
    select
        last_runs.source,
        last_runs.kind,
        held.feed,
        coalesce(held.row_count, 0) as row_count,
        coalesce(quarantined.quarantined, 0) as quarantined,
        held.latest_at,
        last_runs.last_sync_at,
        last_ok.last_success_at,
        last_runs.last_status,
        last_runs.last_error
    from last_runs
    left join last_ok using (source)
    left join held using (source)
    left join quarantined on quarantined.source = last_runs.source
        and quarantined.feed = held.feed
    order by last_runs.source, held.feed
)

select * from final
