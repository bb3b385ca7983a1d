-- Schema version 4: serving health in the per-day profiles. Beside each day's drift profile,
-- per (model, day, model version): its requests, errors and a log-spaced latency histogram,
-- computed at sync from the inference rows (metrics/profiles.refresh) or by the engine of a
-- source that profiles where the data lives (a `spark` source, a `sql` source with
-- `profiles = true`). The serving metrics of a model without inference rows in the warehouse
-- come from here (metrics/serving.py). One row per (model, day, model_version, bin): bin k
-- holds latencies in [exp(k / 100), exp((k + 1) / 100)) ms, each bin 1% wide; bin -100000
-- holds latencies of 0 ms or less, and bin NULL the requests with no finite latency. Deleted
-- and written with the day's drift profiles (metrics/profiles.forget_days), in one transaction.
create table if not exists serving_profile_bins (
    model varchar not null,
    day date not null,
    model_version varchar not null,
    bin integer,
    n bigint not null,
    errors bigint not null,
    minimum double,
    maximum double,
    first_seen_at timestamptz not null,
    last_seen_at timestamptz not null
);
