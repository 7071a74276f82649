"""``python -m examples.hr_subscriber``: print final results as they are finalized."""

import asyncio
import os

from examples.hr_subscriber.app import ResultsStore, create_app

if __name__ == "__main__":
    store = ResultsStore(os.environ.get("HR_RESULTS_DB", "hr_results.db"))
    asyncio.run(create_app(os.environ["SUXING_BROKER_URL"], store).run())
