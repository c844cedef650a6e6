"""Embedded components for development and tests: the broker (Apache Kafka, or Tansu without Java),
PostgreSQL and Redis.

Each is a real server started as a child process: Kafka from the jars `make kafka` resolved with Maven,
the others (and Tansu) from PyPI wheels. Children started for a run get
PR_SET_PDEATHSIG, so they die with the process that started them even if it is SIGKILLed; children
started by `solbot services up` are detached and live until `services down`. Either way they are recorded
in the data dir's stack file (stack_file.py), which every later command reuses: one stack per data dir.
"""
