-- Schema version 8: which deployment each change and incident belongs to, worked out once per
-- sync (profiling/stored_steps.py refresh) instead of in every delivery query. Each table holds
-- the rows of one step of sql/macros.sql exactly as that step computes them over the whole
-- warehouse; tandem_meta `attribution_fingerprint` records the inputs they were computed from,
-- and a reader uses them only while the inputs still match (metrics/db.py prepare), else it
-- computes them itself. A warehouse upgraded to this version gets them filled by the same sync.

-- One row per change whose title names a ticket linked to an incident: that incident
-- (macros.sql change_fixes).
create table if not exists attribution_change_fixes (
    change_id varchar,
    incident_id varchar
);

-- One row per change (per copy of it and of its named deployment): the next successful
-- production deployment of the named deployment's model after that one finished
-- (macros.sql change_next_deployments).
create table if not exists attribution_change_shipping (
    change_id varchar,
    next_deployment_id varchar
);

-- One row per incident (per copy of it): the latest successful production deployment of its
-- model that finished at or before it opened, and when it finished
-- (macros.sql incident_previous_deployments).
create table if not exists attribution_incidents (
    incident_id varchar,
    previous_deployment_id varchar,
    previous_finished_at timestamptz
);
