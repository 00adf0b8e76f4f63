"""The model table: one row per RFT model, and everything that reads it."""

from __future__ import annotations

from stacks.models import RFT_MODELS, Variant, inference_model_id, model_ids, rft_model, variant_region


def test_every_model_of_a_variant_lives_in_that_variants_region() -> None:
    # The regions where Bedrock offers RFT for each API (the reference, section 6).
    assert variant_region(Variant.NOVA) == "us-east-1" and variant_region(Variant.MANTLE) == "us-west-2"
    for model in RFT_MODELS:
        assert model.region == variant_region(model.variant), model


def test_the_models_aws_documents_for_rft() -> None:
    assert model_ids(Variant.NOVA) == ("amazon.nova-2-lite-v1:0:256k",)
    assert model_ids(Variant.MANTLE) == ("openai.gpt-oss-20b", "qwen.qwen3-32b", "nvidia.nemotron-nano-3-30b")
    ids = [model.model_id for model in RFT_MODELS]
    names = [model.stack_name for model in RFT_MODELS]
    assert len(set(ids)) == len(ids) and len(set(names)) == len(names)


def test_inference_ids() -> None:
    # The training id's ":256k" suffix is not invokable; Nova 2 Lite is called through its profile.
    assert inference_model_id("amazon.nova-2-lite-v1:0:256k") == "us.amazon.nova-2-lite-v1:0"
    assert inference_model_id("nvidia.nemotron-nano-3-30b") == "nvidia.nemotron-nano-3-30b"
    assert inference_model_id("some.other-model") == "some.other-model"
    assert rft_model("some.other-model") is None
