"""Runs INSIDE the sandbox, from its bin/: imports the stdlib, its siblings, core's calling, wire, archive.

    zygote          the warm parent: imports NumPy once, forks a supervisor per submission
    isolation       each submission's PID namespace, fresh /tmp and memory cgroup
    worker          the supervisor: limits, the child that calls the functions, the answers sent back
    task_child      the submission's child: loads the student's definitions, calls each function
    channels        the supervisor's socket to the child (the sender vouched for) and its pipes
    kit_code        the kit's student modules, imported once by the zygote
    uid_processes   ending every process of the submission's uid
    seccomp_filter  the system calls graded code may not make
    execute_worker  ``--execute``: runs the whole notebook (nbclient, nbformat and
                    jupyter_client besides: what the notebook's kernel needs)

Nothing here imports the grader package: bin/ holds these files and core's, side by side.
"""
