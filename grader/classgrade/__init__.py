"""Grading a class (``make grade``): imports core, client, notebooks and itself; never the server or cli."""
