-- Schema version 2: per-day drift profiles of every model's inference columns, computed at sync
-- (metrics/profiles.py), so drift over any window combines small summaries instead of raw rows.

-- The fixed bins of one numeric column of one model: [lo + k*width, lo + (k+1)*width) for
-- k in 0..bins-1; bin -1 holds values below lo and bin `bins` values at or above the top.
create table if not exists drift_bin_specs (
    model varchar not null,
    feature varchar not null,
    lo double not null,
    width double not null,
    bins integer not null,
    created_at timestamptz not null
);

-- One row per (model, feature, day, bin) of numeric columns: the values' count, extremes, mean
-- and m2 (sum of squared deviations from the mean). bin NULL counts the missing values.
create table if not exists drift_profile_bins (
    model varchar not null,
    feature varchar not null,
    day date not null,
    bin integer,
    n bigint not null,
    minimum double,
    maximum double,
    mean double,
    m2 double
);

-- One row per (model, feature, day, value) of every column, numeric ones included while a day
-- has few distinct values: value NULL with capped false counts the missing values; a day with
-- more distinct values than the cap keeps one row, value NULL with capped true, counting them.
create table if not exists drift_profile_values (
    model varchar not null,
    feature varchar not null,
    day date not null,
    value varchar,
    n bigint not null,
    capped boolean not null
);

-- What each (model, day) profile was computed from: the day's inference rows and the newest
-- synced_at among them. A day whose rows changed since is profiled again.
create table if not exists drift_profile_days (
    model varchar not null,
    day date not null,
    rows bigint not null,
    synced_max timestamptz not null
);
