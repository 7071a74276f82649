"""A deterministic synthetic enterprise-year: the events the pledges and reviews services
would have stored for a company of units, branches, members and employees (issue 8).

    .venv/bin/python -m bench.generate --seed 1 --scale 0.02

Full size (``scale=1``) is the company of DOMAIN.md: 57 unit committees and 878 branches,
each branch with 20-30 party members (about 10% probationary) among 50-90 employees. Every
member chooses a responsibility area and declares 1-2 pledges that go declare -> (revision)
-> approve -> (pairing agreement) -> publish -> monthly ledger entries -> acceptance; needs
are submitted, classified, linked and solved; peer ballots per quarter, mass ballots (all
staff, and paired employees) and branch reviews per half-year.

The output is a list of :class:`Planned` items in causal order (the order a stack would have
appended them: within a stream the list order is the sequence order). Stream names come from
the services' domain modules; reviewer pseudonyms from the reviews domain, with a per-period
key derived from the seed, so no reviewer's person id appears anywhere in review events.
Same seed, same events.
"""

from bench.generate.company import counts, generate
from bench.generate.model import (
    BRANCHES,
    EMPLOYEES_PER_BRANCH,
    MEMBERS_PER_BRANCH,
    PLEDGES_PER_MEMBER,
    PROBATIONARY_SHARE,
    UNITS,
    Branch,
    Enterprise,
    Planned,
    period_key,
)
from bench.generate.output import main, write_events

__all__ = [
    "BRANCHES",
    "EMPLOYEES_PER_BRANCH",
    "MEMBERS_PER_BRANCH",
    "PLEDGES_PER_MEMBER",
    "PROBATIONARY_SHARE",
    "UNITS",
    "Branch",
    "Enterprise",
    "Planned",
    "counts",
    "generate",
    "main",
    "period_key",
    "write_events",
]
