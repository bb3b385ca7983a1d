-- Store the attribution steps of sql/macros.sql (created on the same connection first) over the
-- whole warehouse: one row per row each step gives (profiling/stored_steps.py refresh).
delete from attribution_incidents;
insert into attribution_incidents
select incident_id, previous_deployment_id, previous_finished_at
from incident_previous_deployments();

delete from attribution_change_fixes;
insert into attribution_change_fixes
select change_id, incident_id
from change_fixes();

delete from attribution_change_shipping;
insert into attribution_change_shipping
select change_id, next_deployment_id
from change_next_deployments();
