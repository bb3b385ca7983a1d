-- A scoped view (metrics/access.py restrict): one row per row of {base} of a ticket in scope
-- (the scoped `tickets` view, created first). {view} and {base} are identifiers, formatted in.
create or replace temp view {view} as
select * from {base}
where ticket_id in (select ticket_id from tickets)
