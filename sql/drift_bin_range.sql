-- One row: per numeric column, the [low, high] range its fixed bins span, its exact finite min
-- and max (profiling/queries.bin_specs builds the select list, for two frames compared once).
with final as (
    select {select}
    from {relation}
)

select * from final
