"""The builder: one router per designer (apps, entities and forms, roles, people, later processes, rules,
charts). Routers are thin: they read through the engine's services, render a page, and the designers'
browser modules save through the same definition API an integrator uses; no second validator here."""
