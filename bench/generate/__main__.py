"""``python -m bench.generate``: print the counts of a generated enterprise."""

import sys

from bench.generate.output import main

sys.exit(main())
