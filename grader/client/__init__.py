"""What the student's notebook calls; ships to students: imports the standard library, NumPy, core, client."""
