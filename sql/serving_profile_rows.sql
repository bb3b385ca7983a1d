-- One row per stored serving profile bin of a model with no inference rows in the window, on
-- the UTC days the window overlaps (profiled_serving in macros.sql).
select * from profiled_serving($since, $until, $team, $model)
