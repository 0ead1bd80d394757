"""The development harness tests, benches and the demo share; dev tooling, never imported by services.

procs.py    Kabar's own processes: the one worker and API command lines, Proc, wait_until, free_port
corpus.py   corpus replay with fresh ids, and the upsert event ingest would publish (backfill's builder)
cleanup.py  removing a prefix: its indices, queues and Redis keys
results.py  percentiles and the one JSON-lines result schema benches print and bench/run_all.py reads
"""
