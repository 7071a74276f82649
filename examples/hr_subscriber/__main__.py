"""``python -m examples.hr_subscriber``: print final results as they are finalized."""

import asyncio
import os
from pathlib import Path

from examples.hr_subscriber.app import ResultsStore, create_app, trusted_keys

if __name__ == "__main__":
    store = ResultsStore(os.environ.get("HR_RESULTS_DB", "hr_results.db"))
    # The scoring service's public keys (scoring.<id>.pub), as Suxing's operators hand them out.
    keys = trusted_keys(Path(os.environ.get("HR_TRUSTED_KEYS", "var/keys")))
    if not keys:
        raise SystemExit("no scoring.*.pub in HR_TRUSTED_KEYS: nothing could be trusted")
    asyncio.run(create_app(os.environ["SUXING_BROKER_URL"], store, keys).run())
