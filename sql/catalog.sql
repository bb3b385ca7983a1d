-- One row per (team, model) seen anywhere in the warehouse: the choices the filters offer.
with pairs as (
    select team, model from deployments
    union select team, model from incidents
    union select team, model from tickets
    union select null, model from inference_features
    union select null, model from kpis where model <> ''
),

final as (
    select distinct team, model from pairs
    where team is not null or model is not null
    order by team, model
)

select * from final
