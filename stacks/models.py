"""Every model this app can reinforcement-fine-tune, as data: one row per model.

The configuration accepts exactly these base models, names their stacks from here and puts
each stack in its model's region; the operator CLI calls the base model for inference by the
row's inference id. Adding the next model is one row (and, for a new API, one adapter).
"""

from __future__ import annotations

from dataclasses import dataclass

from stacks.rft_job.runtime.contract import Variant


@dataclass(frozen=True)
class RftModel:
    model_id: str  # the base model id the job is created with
    variant: Variant
    region: str  # the only region where Bedrock offers RFT for it
    api: str  # the call that creates the job, for humans
    inference_id: str  # the id on-demand inference takes for the base model
    stack_name: str  # its stack's default name
    title: str
    # Its chat template opens the reasoning block in the prompt (<think> ends the prompt), so its answers
    # begin inside the block and a closing </think> with no opening tag before it ends the reasoning.
    # For every other model such a tag is text: anything before it counts (nothing hides behind it).
    prompt_opens_reasoning: bool = False

    @property
    def api_title(self) -> str:
        return f"{self.title} via {self.api}"


NOVA_API = "CreateModelCustomizationJob"
MANTLE_API = "the OpenAI-compatible mantle API (/v1/fine_tuning/jobs)"

RFT_MODELS: tuple[RftModel, ...] = (
    # The training id carries a context-length suffix that inference does not take; the base
    # model is served through the US cross-region inference profile (AWS user guide).
    RftModel("amazon.nova-2-lite-v1:0:256k", Variant.NOVA, "us-east-1", NOVA_API,
             "us.amazon.nova-2-lite-v1:0", "BedrockRft-Nova2Lite", "Nova 2 Lite"),
    RftModel("openai.gpt-oss-20b", Variant.MANTLE, "us-west-2", MANTLE_API,
             "openai.gpt-oss-20b", "BedrockRft-GptOss20b", "GPT-OSS 20B"),
    # The user guide's id; AWS's Qwen notebooks write qwen.qwen3-32b-v1:0 (unconfirmed which).
    RftModel("qwen.qwen3-32b", Variant.MANTLE, "us-west-2", MANTLE_API,
             "qwen.qwen3-32b", "BedrockRft-Qwen3-32b", "Qwen3 32B", prompt_opens_reasoning=True),
    # AWS's Nemotron RFT notebook (custom-models/bedrock-reinforcement-fine-tuning/models/nemotron).
    RftModel("nvidia.nemotron-nano-3-30b", Variant.MANTLE, "us-west-2", MANTLE_API,
             "nvidia.nemotron-nano-3-30b", "BedrockRft-NemotronNano3-30b", "Nemotron Nano 3 30B"),
)

_BY_ID = {model.model_id: model for model in RFT_MODELS}


def rft_model(model_id: str) -> RftModel | None:
    return _BY_ID.get(model_id)


def variant_region(variant: Variant) -> str:
    """The one region where Bedrock offers the variant's models."""
    (region,) = {model.region for model in RFT_MODELS if model.variant is variant}
    return region


def models_of(variant: Variant) -> tuple[RftModel, ...]:
    return tuple(model for model in RFT_MODELS if model.variant is variant)


def model_ids(variant: Variant) -> tuple[str, ...]:
    return tuple(model.model_id for model in models_of(variant))


def inference_model_id(base_model: str) -> str:
    """The id on-demand inference takes for a base model (an unknown id is taken as is)."""
    model = rft_model(base_model)
    return model.inference_id if model is not None else base_model
