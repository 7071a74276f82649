"""Reviewer pseudonyms: how ballots stay anonymous yet amendable and countable.

A pseudonym is HMAC-SHA256 under a key the reviews service holds per period and never
publishes. Person ids are few and guessable, so a plain hash of one would be reversed by
hashing the roster; the key is what makes the pseudonym opaque, hence the minimum key length.

What each party can see:

- Events (and so Kafka, scoring, other subscribers, the rated members) carry only the
  pseudonym, the ballot's branch and the scores. The ballot's stream name is built from the
  pseudonym too. The handler must also keep the reviewer out of the envelope: ballot events
  are recorded with the pseudonym as ``actor.ref``, never the person's id.
- The service, holding the key, recomputes the pseudonym of the authenticated reviewer to
  load their own ballot and amend it; it stores no table linking ids to scores.
- Turnout and reminders ("who has not yet voted") need only the set of pseudonyms that have
  a ballot in the period, never the scores: ``not_yet_voted`` hashes each eligible reviewer
  and checks membership in that set. It runs inside the service, on the roster the service
  already has, so nothing linking a person to a ballot is ever written down or published.
- Rotating the key per period means pseudonyms of different periods cannot be matched, so
  one reviewer's ballots cannot be followed from quarter to quarter. Destroying a period's
  key once its results are final makes even the service unable to link ballots to people.

The paired employee's ballot gets a pseudonym of its own. The rated member knows who their
paired employee is, so a paired ballot is attributable by nature; with the same pseudonym
as that employee's all-staff ballot it would also reveal how they rated everyone else.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Iterable

from shared.contracts.reviews import BallotRole

MIN_KEY_BYTES = 32

_REVIEWER = b"suxing/reviews/reviewer/v1"
_PAIRED = b"suxing/reviews/paired-reviewer/v1"
_RECEIPT = b"suxing/reviews/receipt/v1"
_RECEIPT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def reviewer_pseudonym(key: bytes, period_id: str, reviewer_id: str) -> str:
    """The reviewer's pseudonym in a period: the same for the same inputs, unrelated across
    periods, and not computable without ``key``."""
    return _pseudonym(_REVIEWER, key, period_id, reviewer_id)


def ballot_pseudonym(key: bytes, period_id: str, reviewer_id: str, role: BallotRole) -> str:
    """The pseudonym a ballot in ``role`` carries: the reviewer's pseudonym, except for the
    paired employee's ballot, which must not be linkable to the same person's other ballot."""
    if role is BallotRole.PAIRED:
        return _pseudonym(_PAIRED, key, period_id, reviewer_id)
    return reviewer_pseudonym(key, period_id, reviewer_id)


def receipt_code(key: bytes, period_id: str, pseudonym: str) -> str:
    """The code a reviewer keeps to confirm later that their ballot was counted: 20 characters
    (100 bits) in groups of 5, without look-alike characters. It is derived from the ballot's
    pseudonym under the period's key, so it stays the same when the ballot is amended and
    cannot be computed once the key is destroyed; it says nothing of the scores, so it
    cannot prove to anyone how the reviewer voted."""
    digest = _pseudonym(_RECEIPT, key, period_id, pseudonym)
    value = int(digest, 16) >> (256 - 100)
    chars = "".join(_RECEIPT_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(20)))
    return "-".join(chars[i : i + 5] for i in range(0, 20, 5))


def receipt_hash(code: str) -> str:
    """What the service keeps of a receipt: its SHA-256, so a stolen table yields no codes.
    Case, spaces and dashes as typed do not matter."""
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalized.encode("ascii", "replace")).hexdigest()


def not_yet_voted(
    key: bytes,
    period_id: str,
    role: BallotRole,
    *,
    eligible_reviewer_ids: Iterable[str],
    voted_pseudonyms: Collection[str],
) -> tuple[str, ...]:
    """The eligible reviewers without a ballot in ``role``, in the order given (for
    reminders). ``voted_pseudonyms`` are the pseudonyms of the period's ballots in that role.
    """
    ids = list(eligible_reviewer_ids)
    return tuple(
        reviewer_id
        for reviewer_id, pseudonym in zip(
            ids, ballot_pseudonyms(key, period_id, role, ids), strict=True
        )
        if pseudonym not in voted_pseudonyms
    )


def ballot_pseudonyms(
    key: bytes, period_id: str, role: BallotRole, reviewer_ids: Iterable[str]
) -> list[str]:
    """``ballot_pseudonym`` of each reviewer, in order: the same strings, with the key and
    the purpose and period part of the message hashed once and the HMAC state copied per
    reviewer (turnout of a company matches a few hundred thousand reviewers)."""
    _check_key(key)
    purpose = _PAIRED if role is BallotRole.PAIRED else _REVIEWER
    keyed = hmac.new(key, _part(purpose) + _part(period_id.encode("utf-8")), hashlib.sha256)
    out = []
    for reviewer_id in reviewer_ids:
        mac = keyed.copy()
        mac.update(_part(reviewer_id.encode("utf-8")))
        out.append(mac.hexdigest())
    return out


def _part(part: bytes) -> bytes:
    return len(part).to_bytes(4, "big") + part


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the pseudonym key must have at least {MIN_KEY_BYTES} bytes")


def _pseudonym(purpose: bytes, key: bytes, period_id: str, reviewer_id: str) -> str:
    _check_key(key)
    # Length prefixes keep ("P-1", "2x") and ("P-12", "x") from hashing the same bytes.
    message = b"".join(
        len(part).to_bytes(4, "big") + part
        for part in (purpose, period_id.encode("utf-8"), reviewer_id.encode("utf-8"))
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()
