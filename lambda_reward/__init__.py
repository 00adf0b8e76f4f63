"""The reward (grader) Lambda: its construct (``infrastructure.py``) beside its code (``runtime/``).

Only ``runtime/`` ships in the Lambda. The entry point is ``lambda_reward.runtime.handler.handler``
and the scoring is ``lambda_reward.runtime.grader.grade_batch``.
"""
