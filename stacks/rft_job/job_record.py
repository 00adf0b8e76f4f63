"""The job record: the SSM parameters that say which job is the stack's and how it is doing.

The launcher's custom resource writes the current job's id (through CloudFormation); the tracker
writes the status, the trained model, the failure message and (Nova) the deployment; other teams
and rftctl read them by name (the published outputs). Names are literal, not Refs: the tracker
must not depend on the job resource, or the tracker, the launcher and the id parameter would
form a cycle.
"""

from __future__ import annotations

from aws_cdk import Stack, aws_ssm as ssm
from constructs import Construct

from stacks.published_outputs import PublishedOutputs
from stacks.rft_job.runtime.contract import PARAMETER_NONE, PARAMETER_NOT_STARTED, JobParameter, Output


class JobRecord(Construct):
    """`<parameter_prefix>/job/{status,model,failure-message,id[,deployment-arn]}`."""

    def __init__(self, scope: Construct, construct_id: str, *, parameter_prefix: str, stack_name: str,
                 records_deployment: bool) -> None:
        super().__init__(scope, construct_id)
        prefix = f"{parameter_prefix}/job"
        self.stack_name = stack_name
        self.names: dict[str, str] = {}

        def parameter(key: str, leaf: str, initial: str, description: str) -> ssm.StringParameter:
            self.names[key] = f"{prefix}/{leaf}"
            return ssm.StringParameter(self, key, parameter_name=self.names[key], string_value=initial,
                                       description=description)

        self.status = parameter("StatusParameter", JobParameter.STATUS, PARAMETER_NOT_STARTED,
                                "Status of the stack's current RFT job, as the Bedrock API reports it")
        self.model = parameter(
            "ModelParameter",
            JobParameter.MODEL,
            PARAMETER_NONE,
            "Trained model of the current RFT job: Nova output model ARN or mantle fine-tuned model id",
        )
        self.failure = parameter(
            "FailureParameter",
            JobParameter.FAILURE,
            PARAMETER_NONE,
            "Failure message of the current RFT job, if it failed",
        )
        self.job_id = parameter(
            "JobIdParameter",
            JobParameter.JOB_ID,
            PARAMETER_NONE,
            "Id (Nova: ARN) of the stack's current RFT job; the tracker writes only for this job",
        )
        self.deployment = (
            parameter(
                "DeploymentParameter",
                JobParameter.DEPLOYMENT,
                PARAMETER_NONE,
                "On-demand custom model deployment ARN of the trained Nova model",
            )
            if records_deployment
            else None
        )
        # The parameters the tracker writes. Whenever CloudFormation updates one of them (its
        # description, its tags), it writes the initial value back over what the tracker recorded,
        # so their properties stay fixed and the stack keeps user tags off them.
        self.live_parameters = [p for p in (self.status, self.model, self.failure, self.deployment) if p is not None]

    def arn(self, key: str) -> str:
        return Stack.of(self).format_arn(service="ssm", resource="parameter", resource_name=self.names[key].lstrip("/"))

    def set_current_job(self, job_id: str) -> None:
        """The job the tracker may write for: the launcher's job id, updated by CloudFormation."""
        cfn = self.job_id.node.default_child
        assert isinstance(cfn, ssm.CfnParameter)
        cfn.value = job_id

    def publish(self, outputs: PublishedOutputs) -> None:
        outputs.publish(
            Output.JOB_STATUS_PARAMETER_NAME,
            self.names["StatusParameter"],
            "SSM parameter with the RFT job's current status",
        )
        outputs.publish(
            Output.JOB_MODEL_PARAMETER_NAME,
            self.names["ModelParameter"],
            "SSM parameter with the trained model (Nova model ARN or mantle model id) once the job succeeds",
        )
        outputs.publish(
            Output.JOB_FAILURE_PARAMETER_NAME,
            self.names["FailureParameter"],
            "SSM parameter with the failure message if the RFT job fails",
        )
        outputs.publish(
            Output.JOB_ID_PARAMETER_NAME,
            self.names["JobIdParameter"],
            "SSM parameter with the id (Nova: ARN) of the stack's current RFT job",
        )

    def publish_deployment(self, outputs: PublishedOutputs) -> None:
        if self.deployment is not None:
            outputs.publish(
                Output.MODEL_DEPLOYMENT_PARAMETER_NAME,
                self.names["DeploymentParameter"],
                "SSM parameter with the on-demand deployment ARN of the trained Nova model",
            )
