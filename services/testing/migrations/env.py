from cordon.migrate import run_env
from services.testing.models import Base

run_env(Base.metadata)
