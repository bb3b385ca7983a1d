-- One row: a fingerprint of what the source_holdings step of sql/macros.sql counts, cheap enough
-- for every connection (2-19 ms at 100M inference rows, where counting per source takes 0.17 s
-- and more): per feed, its row count and newest synced_at, and the syncs recorded. A sync that
-- changes a feed deletes rows (the count) or inserts them (a newer synced_at), and records its
-- runs; rows loaded without a sync change the count or synced_at. Equal fingerprints mean the
-- stored holdings (profiling/stored_steps.py) are still exact.
with feeds as (
    select 'deployments' as feed, count(*) as n, max(synced_at) as newest from deployments
    union all select 'changes', count(*), max(synced_at) from changes
    union all select 'incidents', count(*), max(synced_at) from incidents
    union all select 'inference', count(*), max(synced_at) from inference
    union all select 'kpis', count(*), max(synced_at) from kpis
    union all select 'tickets', count(*), max(synced_at) from tickets
    union all select 'ticket_transitions', count(*), max(synced_at) from ticket_transitions
),

runs as (
    select count(*) as n from sync_runs
),

final as (
    select cast(hash(
        list(struct_pack(feed, n, newest) order by feed), (select n from runs)
    ) as varchar) as fingerprint
    from feeds
)

select * from final
