"""Bedrock reinforcement fine-tuning job: CDK construct and its Lambda runtime."""
