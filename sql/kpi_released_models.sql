-- One row per model with a release (releases_in in macros.sql) that finished in [$since,
-- $until), of the team's or the model's: the models the KPI check gives a section of releases.
with final as (
    select distinct model
    from releases_in($since, $until, $team, $model)
)

select * from final
order by model
