"""HTTP routers, one module per resource."""

from services.notify.api import broadcasts, me, notifications

# broadcasts before notifications: /notifications/broadcasts/{id} must not be read as /notifications/{id}.
ROUTERS = [me.router, broadcasts.router, notifications.router]
