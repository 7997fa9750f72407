from cordon.migrate import run_env
from services.events.models import Base

run_env(Base.metadata)
