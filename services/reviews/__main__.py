"""`python -m services.reviews`: run the reviews service (settings from SUXING_* variables)."""

from services.reviews.app import create_app
from shared.service import serve
from shared.settings import Settings

if __name__ == "__main__":
    serve(create_app, Settings(service="reviews"))
