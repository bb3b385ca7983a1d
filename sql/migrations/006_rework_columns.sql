-- Schema version 6: what DORA's fifth metric (deployment rework rate) and the AI-assisted split
-- read. A deployment's `kind` (planned, hotfix or rollback; null when the source does not say),
-- the incident a change fixes (`incident_id`, as the source names it), and whether a change was
-- made with an AI assistant (`ai_assisted`: true, false, or null when not known). Rows loaded
-- before this version have nulls there until their source is synced again.
alter table deployments add column kind varchar;
alter table changes add column incident_id varchar;
alter table changes add column ai_assisted boolean;
