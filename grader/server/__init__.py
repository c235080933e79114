"""AutoMark-compatible server (``grader serve``): imports core, client, docstrings, the gradebook's SQL.

One module per job::

    settings.py  what a server runs with (the CLI's defaults, passed to every worker)
    app.py       the ASGI application: AutoMark's five endpoints, Starlette for the rest
    http.py      uvicorn's httptools protocol: bounded size, time and connections, JSON refusals
    limits.py    the sizes a request may have, derived from the protocol
    percent.py   percent-decoding in linear time (NumPy)
    service.py   the five endpoints as methods, in AutoMark's words
    cases.py     hidden cases per (user, function, ipd) and the local-tests pickle
    answers.py   reading a student's answer and judging it with the kit's strict rule
    store.py     the SQLite store of record (schema.py: its SQL)
    users.py     students.csv into the users table
    admin.py     the staff pages (templates/admin.html) and their CSV
    run.py, commands.py   uvicorn and the command line

It never runs student code, never unpickles what it receives, and never sends
an expected output.
"""
