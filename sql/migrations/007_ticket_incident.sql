-- Schema version 7: the incident a ticket is linked to (`tickets.incident_id`), as the tracker
-- links them (Jira: an issue link to an issue of an incident type). A change whose title names
-- such a ticket fixes that incident, for the deployment rework rate, when the change names no
-- incident itself.
alter table tickets add column incident_id varchar;
