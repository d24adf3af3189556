"""The command line's commands (``cli.py`` assembles them): one module per group.

Commands parse options, build a request, call a workflow and print; they hold no
analysis logic. Analysis commands are generated from the analysis registry
(:mod:`workflows.analyses`).
"""
