"""One module per rftctl command; each has ``register(subparsers)`` and ``run(ctx, args) -> exit code``."""
