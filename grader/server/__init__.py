"""AutoMark server (``grader serve``): imports core, client, docstrings, classgrade's SQL, exports, course.

One module per job::

    settings.py  what a server runs with (the CLI's defaults, passed to every worker)
    app.py       the ASGI application: AutoMark's five endpoints, Starlette for the rest
    http.py      uvicorn's httptools protocol: bounded size, time and connections, JSON refusals
    limits.py    the sizes a request may have, derived from the protocol
    percent.py   percent-decoding in linear time (NumPy)
    service.py   the five endpoints as methods, in AutoMark's words
    cases.py     hidden cases per (user, function, ipd) and the local-tests pickle
    answers.py   reading a student's answer and judging it with the kit's strict rule
    store.py     the SQLite store of record (schema.py: its SQL; checkpoints.py: the WAL's, off the loop)
    users.py     students.csv into the users table
    deadlines.py each student's own deadline and which attempts were late (read, never stored)
    export.py    ``server export``: the grades as of each deadline, through class grading's exports
    local_checks.py  the kit's own endpoint: a local check's outcome, for the staff
    admin.py     the staff pages (templates/admin.html) and their CSV
    stuck.py     who is stuck on what (the staff page's view and stuck.csv)
    run.py, commands.py   uvicorn and the command line

It never runs student code, never unpickles what it receives, and never sends
an expected output.
"""
