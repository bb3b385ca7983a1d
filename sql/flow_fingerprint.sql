-- One row: a fingerprint of the rows the stored flow tables are computed from (the tickets and
-- their transitions, every column: each row's row_hash is the loader's hash of its content):
-- per table, its row count and the sum of its rows' hashes (a sum, not a xor, so two equal
-- rows do not cancel out). Equal fingerprints mean the stored flow tables
-- (profiling/stored_steps.py) are still exact.
with ticket_rows as (
    select count(*) as n, sum(hash(ticket_id, source, row_hash, synced_at)) as h
    from tickets
),

transition_rows as (
    select count(*) as n, sum(hash(ticket_id, "at", source, row_hash, synced_at)) as h
    from ticket_transitions
),

final as (
    select cast(hash(
        ticket_rows.n, ticket_rows.h, transition_rows.n, transition_rows.h
    ) as varchar) as fingerprint
    from ticket_rows, transition_rows
)

select * from final
