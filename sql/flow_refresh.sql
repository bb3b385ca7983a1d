-- Store the flow steps of sql/flow_macros.sql that no workflow changes (created on the same
-- connection first) for every ticket (profiling/stored_steps.py refresh): one row per ticket
-- (one copy when two sources send it), as flow_scope gives it, and one row per stay, as
-- flow_status_stays gives it. Made afresh: flow_tickets_stored has the tickets' columns.
create or replace table flow_tickets_stored as
select * from flow_scope(null, null);

create or replace table flow_stays_stored as
select * from flow_status_stays(null, null, null, null);
