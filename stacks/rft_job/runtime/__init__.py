"""Lambda runtime for the RFT job custom resource (launcher) and its status tracker.

Handlers:
    stacks.rft_job.runtime.launcher.on_event  -- CDK Provider-framework on_event handler
    stacks.rft_job.runtime.tracker.handler    -- Step Functions polling task
"""
