"""HTTP routers, one module per resource."""

from services.events.api import check_ins, gatherings

ROUTERS = [gatherings.router, check_ins.router]
