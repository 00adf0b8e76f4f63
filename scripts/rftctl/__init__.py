"""rftctl: the operator CLI for the Bedrock RFT stacks (the console command ``rftctl``).

``cli.main`` parses the arguments and runs one command from ``commands``; shared modules
find the stack (``stack``), build clients (``aws``), talk to models (``inference``), read
grader results (``grading``) and turn failures into one line (``errors``). Heavy libraries
(boto3, the OpenAI SDK, matplotlib) are imported by the commands that use them, so
``rftctl --help`` and the offline commands start fast.
"""
