-- Schema version 3: drift profiles computed where the data lives (a `spark` source, a `sql`
-- source with `profiles = true`) land in the same tables as the ones computed at sync from the
-- inference table. `source` tells them apart: NULL for a day profiled from the inference rows
-- (metrics/profiles.refresh), else the name of the source whose engine profiled it, whose
-- `rows` and `synced_max` are then the day's signature there (its row count and newest
-- updated-at or ts). refresh never deletes a day a source profiled: it has no inference rows.
alter table drift_profile_days add column source varchar;
