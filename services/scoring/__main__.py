"""`python -m services.scoring`: run the scoring service (settings from SUXING_* variables)."""

from services.scoring.app import create_app
from shared.service import serve
from shared.settings import Settings

if __name__ == "__main__":
    serve(create_app, Settings(service="scoring"))
