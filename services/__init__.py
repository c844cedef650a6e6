"""Embedded components for development and tests: the Tansu broker, PostgreSQL and Redis.

Each is a real server started from a PyPI wheel as a child process. Children started for a run get
PR_SET_PDEATHSIG, so they die with the process that started them even if it is SIGKILLed; children
started by `solbot services up` are detached and recorded in a state file for `services down`.
"""
