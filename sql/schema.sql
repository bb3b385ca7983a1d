-- Tandem warehouse, schema version 1: one table per canonical feed, the quarantine, sync state.
-- Every feed table carries `source` (the configured source that wrote the row), `row_hash`
-- (to tell a changed row from the same row again) and `synced_at`. A row is unique on
-- (source, key). Timestamps are TIMESTAMPTZ in UTC. Later versions live in sql/migrations/.

create table if not exists deployments (
    deployment_id varchar not null,
    model varchar,
    version varchar,
    environment varchar not null,
    team varchar,
    started_at timestamptz,
    finished_at timestamptz not null,
    status varchar not null,
    commit_sha varchar,
    source varchar not null,
    row_hash ubigint not null,
    synced_at timestamptz not null
);

create table if not exists changes (
    change_id varchar not null,
    deployment_id varchar,
    first_commit_at timestamptz not null,
    merged_at timestamptz,
    author varchar,
    title varchar,
    source varchar not null,
    row_hash ubigint not null,
    synced_at timestamptz not null
);

create table if not exists incidents (
    incident_id varchar not null,
    model varchar,
    team varchar,
    opened_at timestamptz not null,
    resolved_at timestamptz,
    severity varchar,
    deployment_id varchar,
    title varchar,
    source varchar not null,
    row_hash ubigint not null,
    synced_at timestamptz not null
);

-- Feature columns are added to this table as sources bring them (see inference_features).
create table if not exists inference (
    request_id varchar not null,
    ts timestamptz not null,
    model varchar not null,
    model_version varchar,
    latency_ms double,
    status varchar,
    prediction double,
    score double,
    label double,
    source varchar not null,
    row_hash ubigint not null,
    synced_at timestamptz not null
);

-- One row per (model, feature): which inference columns are a model's features, and their type.
create table if not exists inference_features (
    model varchar not null,
    feature varchar not null,
    data_type varchar not null,
    source varchar not null,
    first_seen_at timestamptz not null
);

create table if not exists kpis (
    date date not null,
    kpi varchar not null,
    model varchar not null,
    segment varchar not null,
    value double,
    numerator double,
    denominator double,
    unit varchar,
    target double,
    guardrail double,
    source varchar not null,
    row_hash ubigint not null,
    synced_at timestamptz not null
);

create table if not exists tickets (
    ticket_id varchar not null,
    title varchar,
    type varchar,
    work_category varchar,
    team varchar,
    model varchar,
    assignee varchar,
    role varchar,
    created_at timestamptz not null,
    resolved_at timestamptz,
    status varchar,
    story_points double,
    sprint varchar,
    labels varchar[],
    source varchar not null,
    row_hash ubigint not null,
    synced_at timestamptz not null
);

create table if not exists ticket_transitions (
    ticket_id varchar not null,
    "at" timestamptz not null,
    from_status varchar,
    to_status varchar not null,
    assignee varchar,
    role varchar,
    source varchar not null,
    row_hash ubigint not null,
    synced_at timestamptz not null
);

-- One row per source row that broke the contract: where it came from, what it said, and why.
create table if not exists quarantine (
    source varchar not null,
    feed varchar not null,
    origin varchar not null,
    row_number bigint,
    raw varchar,
    reason varchar not null,
    sync_id varchar not null,
    quarantined_at timestamptz not null
);

-- One row per source per sync: what was read and what became of it.
create table if not exists sync_runs (
    sync_id varchar not null,
    source varchar not null,
    kind varchar not null,
    feed varchar,
    started_at timestamptz not null,
    finished_at timestamptz,
    status varchar not null,
    rows_read bigint not null default 0,
    rows_loaded bigint not null default 0,
    rows_duplicate bigint not null default 0,
    rows_quarantined bigint not null default 0,
    error varchar
);

-- One row per source: the state its next sync starts from (e.g. a high-water mark), as JSON.
create table if not exists source_state (
    source varchar not null,
    state varchar not null,
    updated_at timestamptz not null
);

create table if not exists tandem_meta (
    key varchar not null,
    value varchar not null
);
