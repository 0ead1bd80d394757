"""The development harness tests, benches and the demo share; dev tooling, never imported by services.

procs.py    Kabar's own processes: the one worker and API command lines, Proc, wait_until, free_port
"""
