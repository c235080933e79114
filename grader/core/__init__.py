"""What is graded and how; ships to students: imports the standard library, NumPy and core only."""
