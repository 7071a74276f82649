"""Enterprise benchmarks (issue 8): each figure beside the raw rate of the same client or
database measured in the same run, since absolute times on a shared machine are noise.

    .venv/bin/python -m bench.run --scenario all --scale 0.05 --db sqlite,postgresql --write-docs

Scenarios: ``command`` (ballots over HTTP vs the no-op endpoint; event-store append vs raw
INSERT), ``relay`` (outbox relay vs raw ``send_batch``), ``rebuild`` (replay into the scoring
read model vs raw ``getmany``), ``latency`` (period closed -> the branch's cards updated),
``scaling`` (2x data, 2 consumer instances). Each database kind gets its own embedded broker.
"""
