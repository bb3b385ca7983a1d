-- What each UTC day's ok rows of one model say about its kind (inference_kind_days; read by
-- quality_kind.sql), from the rows the sync is profiling (profiling/store.py keeps them in the
-- temporary table tandem_profile_rows). Needs sql/kind_macros.sql.
insert into inference_kind_days by name
select * from kind_days('tandem_profile_rows', false)
