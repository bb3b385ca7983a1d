-- The flow steps of sql/flow_macros.sql that no workflow changes, read back from the tables the
-- sync stored them in (profiling/stored_steps.py), for a connection whose warehouse still holds
-- the tickets and transitions they were computed from (metrics/db.py prepare): the same rows,
-- without the copies sorted out and every stay worked out again at each query.
create or replace temp macro flow_scope(team_name, model_name) as table
    select *
    from flow_tickets_stored
    where (team_name is null or team = team_name)
        and (model_name is null or model = model_name);

create or replace temp macro flow_status_stays(
    team_name, model_name, moved_from, moved_until
) as table
    select *
    from flow_stays_stored
    where ticket_id in (select ticket_id from flow_scope(team_name, model_name))
        and ticket_id in (
            select ticket_id
            from ticket_transitions
            where (moved_from is null or "at" >= moved_from)
                and (moved_until is null or "at" < moved_until)
        );
