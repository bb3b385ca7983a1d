"""Profiling: small per-day summaries of the inference rows, computed at ingest.

Drift and serving health over any window are read from per-(model, day) profiles instead of
raw rows: per column, counts in fixed bins or per value (drift); per version, requests, errors
and a latency histogram (serving). Profiling is ingest, not a metric: the sync computes the
profiles of the days it changed inside its own transaction on the warehouse copy, their tables
come with the schema's migrations, and a source whose rows stay on their own engine (a `spark`
source, a `sql` source with `profiles = true`) has that engine compute them and sends only the
profiles back.

Who writes: connectors/ (the sync calls `store.refresh`; the spark and sql sources call
`remote.sync_profiles`). Who reads: metrics/ (drift, serving health, model contracts), which
never writes. The package sits beneath both and imports only `warehouse` and `settings`.

- `portable`: the portable SQL subset, checked and transpiled per engine with sqlglot.
- `queries`: what a profile is (columns, fixed bins) and the queries that compute one.
- `store`: the warehouse's per-day drift profiles, kept up to date at each sync.
- `stored_steps`: steps of the metrics' SQL (the attribution, the flow's tickets and stays) stored
  by the sync for the whole warehouse, read back while exact.
- `serving_store`: the per-day serving profiles (requests, errors, latency histogram).
- `remote`: profiles computed on a source's own engine, incrementally by day.
"""
