"""Reward (grader) Lambda for Bedrock reinforcement fine-tuning: answer within a character limit.

Importing the package stays light (no Powertools): the Lambda entry point is
``lambda_reward.handler.handler`` and the scoring is ``lambda_reward.grader.grade_batch``.
"""

from lambda_reward.char_limit import count_characters, extract_char_limit

__all__ = ["count_characters", "extract_char_limit"]
