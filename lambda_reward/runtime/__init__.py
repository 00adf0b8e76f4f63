"""The reward Lambda's code: the grader around a task (``tasks/``, one module per task).

Importing the package stays light (no Powertools): the Lambda entry point is
``lambda_reward.runtime.handler.handler`` and the scoring is ``lambda_reward.runtime.grader.grade_batch``.
"""
