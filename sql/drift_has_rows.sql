-- One row: whether the warehouse holds any raw inference row of one model (a model profiled
-- remotely has only profiles, so drift cannot settle scores from raw values).
select exists (select 1 from inference where model = $model) as has_rows
