"""`python -m services.pledges`: run the pledges service (settings from SUXING_* variables)."""

from services.pledges.app import create_app
from shared.service import serve
from shared.settings import Settings

if __name__ == "__main__":
    serve(create_app, Settings(service="pledges"))
