"""App packages: validate, install, export and upgrade a whole app (entities, forms, roles, processes,
rules, charts, dashboards, sample data) from a folder or a zip."""
