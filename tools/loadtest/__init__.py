"""The load test (`make loadtest`): Locust drives a realistic mix through the real pages of
the app served by gunicorn on PostgreSQL, with card payments against localstripe and rate
limits counted in Redis, all on 127.0.0.1. See __main__.py for the run and locustfile.py
for who the simulated people are and what they do."""
