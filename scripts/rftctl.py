#!/usr/bin/env python3
"""rftctl: operator CLI for the Bedrock RFT stacks. Run `.venv/bin/python scripts/rftctl.py --help`.

A thin launcher: the implementation is the package scripts/rftctl/ (see docs/operator-cli.md).
"""

import sys
from pathlib import Path

# The repository root, so the package can import stacks, lambda_reward and rft_job.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.rftctl.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
