"""Plugin wiring only: every fixture and hook lives in one module per concern under fixtures/."""

pytest_plugins = [
    "fixtures.settings",
    "fixtures.target",
    "fixtures.collected",
]
