"""The reward Lambda's code: answer within a character limit.

Importing the package stays light (no Powertools): the Lambda entry point is
``lambda_reward.runtime.handler.handler`` and the scoring is ``lambda_reward.runtime.grader.grade_batch``.
"""

from lambda_reward.runtime.char_limit import count_characters, extract_char_limit

__all__ = ["count_characters", "extract_char_limit"]
