"""Running graded code, the trusted side: imports core, client, notebooks, syntax, submissions; never inside/.

    modes         bubblewrap or plain: the command that starts a sandbox
    staging       the folders a run sees (bin/ holds inside/'s programs and core's call path)
    warm          the warm sandbox's handle: one zygote per grading process
    runner        one submission's run, its answers read back
    execute       ``--execute``: the whole notebook run in a sandbox
    limits, processes, cgroups, environment   limits, ending processes, memory, packages

What runs in the sandbox is ``inside/``: copied as files, never imported from here.
"""
