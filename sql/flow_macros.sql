-- Table macros the flow metrics share (metrics/db.py creates them on every read connection):
-- the tickets in scope, each ticket's stays in a status, its milestones and its cycle. Statuses
-- compare as lower(trim(status)) against the workflow's lists (settings.Workflow); a status in
-- two lists reads as active, then blocked, waiting, done, dropped, in that order.
--
-- moved_from, moved_until: only the tickets with a transition in [moved_from, moved_until) get
-- their history read (null: no bound). That is exact for every question about a window: a
-- ticket that finished in it entered done in it, a wait that ended in it ended with a move in
-- it; and it spares reading a year of history for a week's figures.

-- One row per ticket in scope (team, model); one copy when two sources send the same ticket_id.
create or replace temp macro flow_scope(team_name, model_name) as table
    with copies as (
        select
            *,
            row_number() over (partition by ticket_id order by synced_at desc, source) as copy_rank
        from tickets
    ),

    final as (
        select * exclude (copy_rank)
        from copies
        where copy_rank = 1
            and (team_name is null or team = team_name)
            and (model_name is null or model = model_name)
    )

    select * from final;

-- The kind of a status key in the workflow's lists (settings.Workflow): active, then blocked,
-- waiting, done, dropped, else other; null for no status.
create or replace temp macro flow_status_kind(
    status_key, active, waiting, blocked, done, dropped
) as
    case
        when status_key is null then null
        when list_contains(active, status_key) then 'active'
        when list_contains(blocked, status_key) then 'blocked'
        when list_contains(waiting, status_key) then 'waiting'
        when list_contains(done, status_key) then 'done'
        when list_contains(dropped, status_key) then 'dropped'
        else 'other'
    end;

-- One row per stay of a ticket in scope, whatever the workflow: each transition starts a stay
-- in its to_status that lasts until the ticket's next transition (left_at is null for the stay
-- it is in now), with the status key before it, the role that entered the stay and the role
-- that ended it. The sync stores it for every ticket (profiling/stored_steps.py).
create or replace temp macro flow_status_stays(
    team_name, model_name, moved_from, moved_until
) as table
    with scope as (
        select ticket_id
        from flow_scope(team_name, model_name)
    ),

    moved as (
        select distinct ticket_id
        from ticket_transitions
        where (moved_from is null or "at" >= moved_from)
            and (moved_until is null or "at" < moved_until)
            and ticket_id in (select ticket_id from scope)
    ),

    -- two sources may send the same transition (ticket, time, status): the copy synced last
    moves as (
        select
            ticket_id,
            "at" as entered_at,
            lower(trim(to_status)) as status_key,
            arg_max(trim(to_status), synced_at) as status,
            arg_max(nullif(lower(trim(role)), ''), synced_at) as role
        from ticket_transitions
        where ticket_id in (select ticket_id from moved)
        group by ticket_id, "at", lower(trim(to_status))
    ),

    final as (
        select
            ticket_id,
            row_number() over ticket_moves as stay_number,
            status,
            status_key,
            lag(status_key) over ticket_moves as previous_status_key,
            entered_at,
            lead(entered_at) over ticket_moves as left_at,
            role as entering_role,
            lead(role) over ticket_moves as leaving_role
        from moves
        window ticket_moves as (partition by ticket_id order by entered_at, status_key)
    )

    select * from final;

-- One row per stay of a ticket in scope (flow_status_stays), with the kind of its status and
-- of the one before it in the workflow's lists.
create or replace temp macro flow_stays(
    team_name, model_name, moved_from, moved_until, active, waiting, blocked, done, dropped
) as table
    select
        ticket_id,
        stay_number,
        status,
        status_key,
        flow_status_kind(status_key, active, waiting, blocked, done, dropped) as kind,
        flow_status_kind(previous_status_key, active, waiting, blocked, done, dropped)
            as previous_kind,
        entered_at,
        left_at,
        entering_role,
        leaving_role
    from flow_status_stays(team_name, model_name, moved_from, moved_until);

-- One row per stay, with its ticket's milestones from the ticket's whole history: started_at
-- (its first move into an active status), finished_at (when its final status is done, the move
-- that began its final run of done statuses, so Done -> Closed keeps Done's time), its final
-- kind of status, whether it ever moved from a done status to another one, and whether this
-- stay lies inside its cycle (started_at -> finished_at), with its hours.
create or replace temp macro flow_ticket_stays(
    team_name, model_name, moved_from, moved_until, active, waiting, blocked, done, dropped
) as table
    with stays as materialized (
        select *
        from flow_stays(
            team_name, model_name, moved_from, moved_until,
            active, waiting, blocked, done, dropped
        )
    ),

    milestones as (
        select
            ticket_id,
            min(entered_at) filter (where kind = 'active') as started_at,
            max(entered_at) filter (
                where kind = 'done' and previous_kind is distinct from 'done'
            ) as done_at,
            arg_max(kind, stay_number) as final_kind,
            bool_or(coalesce(previous_kind = 'done', false) and kind <> 'done') as is_reopened
        from stays
        group by ticket_id
    ),

    finishes as (
        select
            stays.*,
            milestones.started_at,
            case when milestones.final_kind = 'done' then milestones.done_at end as finished_at,
            milestones.final_kind,
            milestones.is_reopened
        from stays
        inner join milestones on milestones.ticket_id = stays.ticket_id
    ),

    final as (
        select
            *,
            coalesce(
                entered_at >= started_at and left_at <= finished_at, false
            ) as is_in_cycle,
            (epoch(left_at) - epoch(entered_at)) / 3600 as hours
        from finishes
    )

    select * from final;

-- One row per stay inside the cycle of a ticket that finished: the cycle time of a ticket is
-- exactly the sum of the hours of these.
create or replace temp macro flow_cycle_stays(
    team_name, model_name, moved_from, moved_until, active, waiting, blocked, done, dropped
) as table
    with ticket_stays as (
        select *
        from flow_ticket_stays(
            team_name, model_name, moved_from, moved_until,
            active, waiting, blocked, done, dropped
        )
    ),

    final as (
        select
            ticket_id,
            status,
            status_key,
            kind,
            entered_at,
            left_at,
            hours,
            finished_at
        from ticket_stays
        where is_in_cycle
    )

    select * from final;

-- One row per ticket in scope: its columns, whether it has a history, its milestones (for a
-- ticket with no transitions, finished_at is resolved_at unless its status is an open or a
-- dropped one), its cycle time and its hours per kind of status inside the cycle (null for a
-- ticket with no cycle: never active, not finished, or no history).
create or replace temp macro flow_tickets(
    team_name, model_name, moved_from, moved_until, active, waiting, blocked, done, dropped
) as table
    -- Only the tickets that can have finished in [moved_from, moved_until) get a row: one that
    -- moved in it (a finish is a move) or, without a history, one resolved in it. Every caller
    -- keeps only those, and reading all of them took most of a week's flow figures (50k
    -- tickets: scope's deduplication and the joins below).
    with candidates as (
        select ticket_id
        from ticket_transitions
        where (moved_from is null or "at" >= moved_from)
            and (moved_until is null or "at" < moved_until)
        union
        select ticket_id
        from tickets
        where (moved_from is null or resolved_at >= moved_from)
            and (moved_until is null or resolved_at < moved_until)
    ),

    scope as (
        select *
        from flow_scope(team_name, model_name)
        where ticket_id in (select ticket_id from candidates)
    ),

    histories as (
        select
            ticket_id,
            any_value(started_at) as started_at,
            any_value(finished_at) as finished_at,
            any_value(final_kind) as final_kind,
            any_value(is_reopened) as is_reopened,
            sum(hours) filter (where is_in_cycle and kind = 'active') as active_hours,
            sum(hours) filter (where is_in_cycle and kind = 'waiting') as waiting_hours,
            sum(hours) filter (where is_in_cycle and kind = 'blocked') as blocked_hours
        from flow_ticket_stays(
            team_name, model_name, moved_from, moved_until,
            active, waiting, blocked, done, dropped
        )
        group by ticket_id
    ),

    -- any transition at all, whatever the bounds: without one, only resolved_at tells
    with_history as (
        select distinct ticket_id
        from ticket_transitions
        where ticket_id in (select ticket_id from scope)
    ),

    -- a ticket with no transitions has only its status to go by
    status_kinds as (
        select
            ticket_id,
            coalesce(
                flow_status_kind(lower(trim(status)), active, waiting, blocked, done, dropped),
                'other'
            ) as status_kind
        from scope
    ),

    milestones as (
        select
            scope.*,
            with_history.ticket_id is not null as has_history,
            histories.started_at,
            case
                when with_history.ticket_id is not null then histories.finished_at
                when status_kinds.status_kind not in ('active', 'blocked', 'waiting', 'dropped')
                    then scope.resolved_at
            end as finished_at,
            coalesce(histories.final_kind, status_kinds.status_kind) = 'dropped' as is_dropped,
            histories.is_reopened,
            histories.active_hours,
            histories.waiting_hours,
            histories.blocked_hours
        from scope
        inner join status_kinds on status_kinds.ticket_id = scope.ticket_id
        left join with_history on with_history.ticket_id = scope.ticket_id
        left join histories on histories.ticket_id = scope.ticket_id
    ),

    final as (
        select
            * exclude (active_hours, waiting_hours, blocked_hours),
            case
                when finished_at >= started_at
                    then (epoch(finished_at) - epoch(started_at)) / 3600
            end as cycle_time_hours,
            case when finished_at >= started_at then coalesce(active_hours, 0) end
                as active_hours,
            case when finished_at >= started_at then coalesce(waiting_hours, 0) end
                as waiting_hours,
            case when finished_at >= started_at then coalesce(blocked_hours, 0) end
                as blocked_hours
        from milestones
    )

    select * from final;

-- One row per hand-off wait that ended in [since_at, until_at): a stay in a waiting status
-- entered by one role and ended by another, at any point of the ticket's life.
create or replace temp macro flow_handoff_stays(
    since_at, until_at, team_name, model_name, active, waiting, blocked, done, dropped
) as table
    with stays as (
        select *
        from flow_stays(
            team_name, model_name, since_at, until_at, active, waiting, blocked, done, dropped
        )
    ),

    final as (
        select
            ticket_id,
            entering_role as from_role,
            leaving_role as to_role,
            entering_role || '->' || leaving_role as handoff,
            status,
            entered_at,
            left_at,
            (epoch(left_at) - epoch(entered_at)) / 3600 as wait_hours
        from stays
        where kind = 'waiting'
            and left_at >= since_at and left_at < until_at
            and entering_role <> leaving_role
    )

    select * from final;
