"""Health figures per webhook, from aggregates the delivery writes per batch (never from attempts).

- histogram.py: the fixed latency bucket boundaries and the percentiles read from them;
- tally.py: the delivery batch's counts and histograms, per (webhook, minute), in memory;
- store.py: the aggregate items (one ADD update per (webhook, minute) per batch; hours kept by readers);
- reader.py: a window's buckets, totals and the failing share other features read;
- service.py: the two routes' use cases.
"""
