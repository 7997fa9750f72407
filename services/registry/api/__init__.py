"""HTTP routers, one module per resource."""

from services.registry.api import (
           accountability,
           cases,
           leads,
           me,
           measures,
           passes,
           persons,
           policies,
           regions,
           risk_areas,
           stats,
           travel,
)

ROUTERS = [persons.router, me.router, risk_areas.router, travel.router, measures.router, policies.router, accountability.router,
           passes.router, regions.router, stats.router, leads.router, cases.router]
