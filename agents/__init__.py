"""Every Faust agent of the pipeline, each a short loop around plain functions that live beside it.

features -> model -> risk -> execution, in data-flow order. Importing `agents.pipeline` registers them.
"""
