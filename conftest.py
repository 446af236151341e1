"""Plugin wiring only: every fixture and hook lives in one module per concern under fixtures/.

Order matters: pytest configures the later-listed plugins first, so the settings are ready
when the evidence plugin chooses the reports directory.
"""

pytest_plugins = [
    "fixtures.reporting",
    "fixtures.progress",
    "fixtures.settings",
    "fixtures.target",
    "fixtures.collected",
    "fixtures.drill",
    "pytester",
]
