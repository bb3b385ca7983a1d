-- One row per stored serving profile bin of a model whose rows stay on its own engine, on the
-- UTC days the window overlaps (profiled_serving in macros.sql).
select * from profiled_serving($since, $until, $team, $model)
