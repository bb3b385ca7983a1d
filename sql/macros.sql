-- Table macros the metric queries share; created on every read connection (metrics/db.py).

-- The UTC day of an instant, from its epoch microseconds: the same date as
-- cast(timezone('UTC', ts) as date) or date_trunc('day', ts) in a UTC session, without a time
-- zone lookup per row (a month of 2M rows by day: 0.44 -> 0.17 s of CPU).
create or replace temp macro utc_day(instant) as
    date '1970-01-01' + cast(floor(epoch_us(instant) / 86400000000) as integer);

-- One row per model a team works on: a model with a deployment or an incident of the team.
-- Models carry no team of their own; KPIs and serving health are scoped to a team this way.
create or replace temp macro team_models(team_name) as table
    select distinct model from deployments where team = team_name
    union
    select distinct model from incidents where team = team_name;

-- One row per KPI row that counts for the window: dates since <= date < until, the team's or
-- the model's KPIs, and on a day that has an explicit 'all' segment, that row alone (a source
-- that sends the total and its parts would otherwise count twice).
create or replace temp macro kpi_rows(since_at, until_at, team_name, model_name) as table
    with scoped as (
        select *
        from kpis
        where date >= cast(since_at as date) and date < cast(until_at as date)
            and (model_name is null or model = model_name)
            and (model_name is not null or team_name is null
                or model in (select model from team_models(team_name)))
    ),

    has_all as (
        select distinct model, kpi, date from scoped where segment = 'all'
    ),

    final as (
        select scoped.*
        from scoped
        left join has_all using (model, kpi, date)
        where has_all.kpi is null or scoped.segment = 'all'
    )

    select * from final;

-- A KPI over a group of its rows (an aggregate: call it in a query that groups the rows, as
-- the kpi_*.sql files do per day, side or window). A ratio is sum(numerator) /
-- sum(denominator), never a mean of the rows' ratios, so a row with ten times the volume
-- weighs ten times as much. Rows without a denominator have no volume to weigh and stay out of
-- the ratio. When the group's denominators sum to nothing (a value-only KPI such as forecast
-- accuracy, or a day with zero volume) the KPI is the mean of the rows' values, as the source
-- sent them (the loader accepts a zero-denominator row only with an explicit value).
create or replace temp macro kpi_value(numerator, denominator, value) as
    case
        when sum(denominator) > 0 then sum(numerator) / sum(denominator)
        else avg(value)
    end;

-- One row per production deployment (environment 'production' in any case), all time, with
-- whether it failed by itself (failed or rolled back).
create or replace temp macro production_deployments() as table
    with final as (
        select
            deployment_id,
            model,
            version,
            team,
            started_at,
            finished_at,
            status,
            kind,
            status in ('failed', 'rolled_back') as is_failed
        from deployments
        where lower(environment) = 'production'
    )

    select * from final;

-- One row per release that finished in [since_at, until_at): a successful production deployment
-- of a model, of the team's or the model's (null: any). What the KPI check compares before and
-- after (kpi_release_impact.sql) and what gives a model its section of releases
-- (kpi_released_models.sql).
create or replace temp macro releases_in(since_at, until_at, team_name, model_name) as table
    select deployment_id, model, version, team, finished_at
    from production_deployments()
    where status = 'success'
        and finished_at >= since_at and finished_at < until_at
        and model is not null
        and (team_name is null or team = team_name)
        and (model_name is null or model = model_name);

-- One row per incident (per copy of it), all time: the latest successful production deployment
-- of the same model that finished at or before it opened, and when it finished (null when there
-- is none), whatever the attribution window. The sync stores these rows (attribution_incidents,
-- profiling/stored_steps.py); sql/attribution_stored_macros.sql reads them back.
create or replace temp macro incident_previous_deployments() as table
    with successes as (
        select deployment_id, model, finished_at
        from production_deployments()
        where status = 'success'
    ),

    final as (
        select
            incidents.incident_id,
            successes.deployment_id as previous_deployment_id,
            successes.finished_at as previous_finished_at
        from incidents
        asof left join successes
            on incidents.model = successes.model and incidents.opened_at >= successes.finished_at
    )

    select * from final;

-- One row per incident, all time, with the deployment it belongs to: the one it names (if that
-- deployment is known), else the latest successful production deployment of the same model that
-- finished at or before it opened; null when there is none (an unattributed incident).
-- With the session variable attribution_window_hours set ([delivery] attribution_window_hours,
-- metrics/delivery.py use_attribution_window), that fallback applies only when the deployment
-- finished at most that many hours before the incident opened (exactly the window counts).
create or replace temp macro incident_attribution() as table
    with named as (
        select incidents.*, known.deployment_id as known_deployment_id
        from incidents
        left join (select distinct deployment_id from deployments) as known
            using (deployment_id)
    ),

    latest_before as (
        select * from incident_previous_deployments()
    ),

    final as (
        select
            named.incident_id,
            named.model,
            named.team,
            named.severity,
            named.title,
            named.opened_at,
            named.resolved_at,
            named.deployment_id as named_deployment_id,
            coalesce(
                named.known_deployment_id,
                case
                    when getvariable('attribution_window_hours') is null
                        or date_diff(
                            'microsecond', latest_before.previous_finished_at, named.opened_at
                        ) <= getvariable('attribution_window_hours') * 3600e6
                        then latest_before.previous_deployment_id
                end
            ) as attributed_deployment_id,
            date_diff('second', named.opened_at, named.resolved_at) / 3600.0
                as recovery_time_hours
        from named
        left join latest_before using (incident_id)
    )

    select * from final;

-- One row per change whose title names a ticket linked to an incident (as Jira links them): that
-- incident, for changes that name no incident themselves. Stored by the sync
-- (attribution_change_fixes); sql/attribution_stored_macros.sql reads them back.
create or replace temp macro change_fixes() as table
    -- a title that names a ticket contains its id: that plain search first, so the pattern
    -- (compiled per pair) runs on those pairs alone, not on every change and linked ticket
    with candidates as materialized (
        select changes.change_id, changes.title, tickets.ticket_id, tickets.incident_id
        from changes
        join tickets
            on tickets.incident_id is not null
            and contains(changes.title, tickets.ticket_id)
    ),

    final as (
        select change_id, min(incident_id) as incident_id
        from candidates
        where regexp_matches(
            title, '(^|[^A-Za-z0-9-])' || regexp_escape(ticket_id) || '($|[^A-Za-z0-9])'
        )
        group by change_id
    )

    select * from final;

-- One row per change (per copy of it and of the deployment it names): the next successful
-- production deployment of the named deployment's model that finished after the named one (null
-- when there is none). Stored by the sync (attribution_change_shipping).
create or replace temp macro change_next_deployments() as table
    with successes as (
        select deployment_id, model, finished_at
        from production_deployments()
        where status = 'success'
    ),

    named as (
        select changes.change_id, deployments.model, deployments.finished_at as named_finished_at
        from changes
        left join deployments using (deployment_id)
    ),

    final as (
        select named.change_id, successes.deployment_id as next_deployment_id
        from named
        asof left join successes
            on named.model = successes.model and named.named_finished_at < successes.finished_at
    )

    select * from final;

-- One row per change, all time, with the production deployment that shipped it: the one it
-- names if that one succeeded in production, else the next successful production deployment of
-- the same model that finished after the named one. Lead time = that deployment's finish minus
-- the change's first commit, in hours (negative spans are kept here and left out by metrics).
create or replace temp macro change_shipping() as table
    with successes as (
        select deployment_id, model, team, finished_at
        from production_deployments()
        where status = 'success'
    ),

    -- the incident a change fixes through the ticket its title names, for changes that name
    -- no incident themselves
    linked as (
        select * from change_fixes()
    ),

    named as (
        select
            changes.change_id,
            changes.first_commit_at,
            changes.merged_at,
            changes.author,
            changes.title,
            coalesce(nullif(trim(changes.incident_id), ''), linked.incident_id) as incident_id,
            changes.ai_assisted,
            changes.deployment_id as named_deployment_id,
            deployments.status = 'success'
                and lower(deployments.environment) = 'production' as named_shipped
        from changes
        left join deployments using (deployment_id)
        left join linked using (change_id)
    ),

    next_success as (
        select * from change_next_deployments()
    ),

    shipped as (
        select
            named.*,
            case
                when named.named_shipped then named.named_deployment_id
                else next_success.next_deployment_id
            end as shipping_deployment_id
        from named
        left join next_success using (change_id)
    ),

    final as (
        select
            shipped.change_id,
            shipped.title,
            shipped.author,
            shipped.incident_id,
            shipped.ai_assisted,
            shipped.first_commit_at,
            shipped.merged_at,
            shipped.named_deployment_id,
            shipped.shipping_deployment_id,
            successes.model,
            successes.team,
            successes.finished_at as shipped_at,
            date_diff('second', shipped.first_commit_at, successes.finished_at) / 3600.0
                as lead_time_hours
        from shipped
        left join successes on successes.deployment_id = shipped.shipping_deployment_id
    )

    select * from final;

-- One row per production deployment, all time: whether it failed (failed, rolled back, or with
-- at least one attributed incident), its incidents, and for a failed deployment without an
-- incident, when the next successful production deployment of its model restored service.
create or replace temp macro deployment_outcomes() as table
    with attributed as (
        select attributed_deployment_id as deployment_id, count(*) as incidents
        from incident_attribution()
        where attributed_deployment_id is not null
        group by all
    ),

    successes as (
        select model, finished_at
        from production_deployments()
        where status = 'success'
    ),

    restored as (
        select d.deployment_id, successes.finished_at as restored_at
        from production_deployments() as d
        asof left join successes
            on d.model = successes.model and d.finished_at < successes.finished_at
        where d.is_failed
    ),

    final as (
        select
            d.*,
            coalesce(attributed.incidents, 0) as incidents,
            d.is_failed or coalesce(attributed.incidents, 0) > 0 as is_change_failure,
            case when d.is_failed and coalesce(attributed.incidents, 0) = 0
                then restored.restored_at end as restored_at,
            case when d.is_failed and coalesce(attributed.incidents, 0) = 0
                then date_diff('second', d.finished_at, restored.restored_at) / 3600.0
            end as recovery_time_hours
        from production_deployments() as d
        left join attributed using (deployment_id)
        left join restored using (deployment_id)
    )

    select * from final;

-- One row per successful production deployment, all time: whether it is rework (DORA's fifth
-- metric) and why. Rework when (a) its kind is hotfix or rollback, (b) it ships (by the lead-time
-- rule, change_shipping) a change with a non-empty incident_id, whether or not that incident is in
-- the feed, or (c) it finished while an incident of the same model was open (opened_at <=
-- finished_at < resolved_at, or not yet resolved), whatever that incident's team.
create or replace temp macro deployment_rework() as table
    with successes as (
        select deployment_id, model, version, team, finished_at, kind
        from production_deployments()
        where status = 'success'
    ),

    fixing as (
        select
            shipping_deployment_id as deployment_id,
            list(change_id order by change_id) as fixing_change_ids
        from change_shipping()
        where shipping_deployment_id is not null and trim(coalesce(incident_id, '')) <> ''
        group by all
    ),

    open_incidents as (
        select
            successes.deployment_id,
            list(incidents.incident_id order by incidents.incident_id) as open_incident_ids
        from successes
        inner join incidents
            on incidents.model = successes.model
            and incidents.opened_at <= successes.finished_at
            and (incidents.resolved_at is null or successes.finished_at < incidents.resolved_at)
        group by all
    ),

    final as (
        select
            successes.*,
            coalesce(lower(successes.kind) in ('hotfix', 'rollback'), false) as is_rework_kind,
            fixing.fixing_change_ids,
            open_incidents.open_incident_ids,
            coalesce(lower(successes.kind) in ('hotfix', 'rollback'), false)
                or fixing.deployment_id is not null
                or open_incidents.deployment_id is not null as is_rework
        from successes
        left join fixing using (deployment_id)
        left join open_incidents using (deployment_id)
    )

    select * from final;

-- Serving health of a group of inference rows, one struct (select `s.*` to spread it):
-- requests, errors, error rate, and latency p50/p95/p99 in ms over the whole group (never an
-- average of smaller groups' percentiles). Used per window, per day and per version.
-- The three percentiles are one aggregate of a list (DuckDB computes the same expression once):
-- one copy of the latencies and one pass over them, where three quantile_cont calls keep three
-- (100M rows, 28 days, per model: 0.21 -> 0.11 s, the same numbers to the last bit).
create or replace temp macro serving_health(latency_ms, status) as struct_pack(
    requests := count(*),
    errors := count(*) filter (where status = 'error'),
    error_rate := count(*) filter (where status = 'error') / count(*),
    latency_p50_ms := quantile_cont(latency_ms, [0.5, 0.95, 0.99])[1],
    latency_p95_ms := quantile_cont(latency_ms, [0.5, 0.95, 0.99])[2],
    latency_p99_ms := quantile_cont(latency_ms, [0.5, 0.95, 0.99])[3]
);

-- One row per stored serving profile bin (serving_profile_bins) of a model whose rows stay on
-- its own engine, on the UTC days [since_at, until_at) overlaps, for the team's or the model's
-- models: its serving health (metrics/serving.py turns the bins into requests, errors and
-- percentiles). A model with a day profiled from the warehouse's own inference rows in the
-- window (drift_profile_days.source NULL) is read from those rows instead, exactly; the small
-- profile-day table says so without scanning the inference rows.
create or replace temp macro profiled_serving(since_at, until_at, team_name, model_name) as table
    with days as (
        select model, day, source
        from drift_profile_days
        where day >= cast(since_at as date) and day < until_at
            and (model_name is null or model = model_name)
            and (team_name is null or model in (select model from team_models(team_name)))
    ),

    exact_models as (
        select distinct model from days where source is null
    ),

    remote_days as (
        select model, day
        from days
        where source is not null and model not in (select model from exact_models)
    ),

    final as (
        select
            bins.model,
            bins.day,
            bins.model_version,
            bins.bin,
            bins.n,
            bins.errors,
            bins.minimum,
            bins.maximum,
            bins.first_seen_at,
            bins.last_seen_at
        from serving_profile_bins as bins
        inner join remote_days using (model, day)
    )

    select * from final;

-- One row per (source, feed) holding rows: how many, and the newest event among them (the Data
-- sources page). Counting every inference row per source is a scan of the whole table on each
-- view (0.17 s warm, 0.55 s cold at 100M rows), so the sync stores these rows
-- (source_holdings_stored, profiling/stored_steps.py HOLDINGS) and
-- sql/holdings_stored_macros.sql reads them back.
create or replace temp macro source_holdings() as table
    select source, 'deployments' as feed, count(*) as row_count, max(finished_at) as latest_at
    from deployments group by source
    union all select source, 'changes', count(*), max(first_commit_at) from changes group by source
    union all select source, 'incidents', count(*), max(opened_at) from incidents group by source
    union all select source, 'inference', count(*), max(ts) from inference group by source
    union all select source, 'kpis', count(*), max(cast(date as timestamptz)) from kpis
        group by source
    union all select source, 'tickets', count(*), max(created_at) from tickets group by source
    union all select source, 'ticket_transitions', count(*), max("at") from ticket_transitions
        group by source;
