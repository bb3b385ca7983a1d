-- The attribution steps of sql/macros.sql read back from the tables the sync stored them in
-- (profiling/stored_steps.py), for a connection whose warehouse still holds the inputs they
-- were computed from (metrics/db.py prepare): the same rows, without the as-of joins and the
-- ticket-title matching at every query.
create or replace temp macro incident_previous_deployments() as table
    select incident_id, previous_deployment_id, previous_finished_at
    from attribution_incidents;

create or replace temp macro change_fixes() as table
    select change_id, incident_id
    from attribution_change_fixes;

create or replace temp macro change_next_deployments() as table
    select change_id, next_deployment_id
    from attribution_change_shipping;
