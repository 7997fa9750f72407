"""HTTP routers, one module per resource."""

from services.testing.api import results, samples, schedules, tests

ROUTERS = [samples.router, results.router, tests.router, schedules.router]
