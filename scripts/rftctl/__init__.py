"""rftctl: the operator CLI for the Bedrock RFT stacks (entry point: scripts/rftctl.py).

``cli.main`` parses the arguments and runs one command from ``commands``; shared modules
find the stack (``stack``), build clients (``aws``), talk to models (``inference``), read
grader results (``grading``) and turn failures into one line (``errors``).
"""
