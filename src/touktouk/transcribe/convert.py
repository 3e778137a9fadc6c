from __future__ import annotations

import base64
import gzip
import json
import os
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from touktouk.errors import ToukToukError

# CTranslate2 DataType ids → numpy dtypes (bfloat16 and float8 are not used by Whisper packages).
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_SUPPORTED_VERSIONS = range(5, 7)


def read_ct2_variables(model_bin: Path) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 `model.bin` as numpy arrays (aliases resolved)."""
    data = memoryview(model_bin.read_bytes())
    off = 0

    def take(fmt: str) -> Any:
        nonlocal off
        value = struct.unpack_from("<" + fmt, data, off)
        off += struct.calcsize(fmt)
        return value[0] if len(value) == 1 else value

    def string() -> str:
        nonlocal off
        n = take("H")
        text = bytes(data[off : off + n - 1]).decode("utf-8")
        off += n
        return text

    version = take("I")
    if version not in _SUPPORTED_VERSIONS:
        raise ToukToukError(f"{model_bin}: CTranslate2 format version {version} is not supported (expected 5-6).")
    spec = string()
    take("I")  # spec revision
    if spec != "WhisperSpec":
        raise ToukToukError(f"{model_bin}: a {spec} model, not a Whisper model.")
    variables: dict[str, np.ndarray] = {}
    for _ in range(take("I")):
        name = string()
        rank = take("B")
        shape = tuple(take("I") for _ in range(rank))
        dtype_id = take("B")
        nbytes = take("I")
        dtype = _DTYPES.get(dtype_id)
        if dtype is None:
            raise ToukToukError(f"{model_bin}: variable {name} has unsupported data type {dtype_id}.")
        variables[name] = np.frombuffer(data[off : off + nbytes], dtype=dtype).reshape(shape)
        off += nbytes
    for _ in range(take("I")):
        alias, target = string(), string()
        variables[alias] = variables[target]
    return variables


def _layers(variables: dict[str, np.ndarray], prefix: str) -> int:
    found = {int(m.group(1)) for k in variables if (m := re.match(rf"{prefix}/layer_(\d+)/", k))}
    return max(found) + 1 if found else 0


def _norm(out: dict[str, np.ndarray], v: dict[str, np.ndarray], src: str, dst: str) -> None:
    out[f"{dst}.weight"] = v[f"{src}/gamma"]
    out[f"{dst}.bias"] = v[f"{src}/beta"]


def _linear(out: dict[str, np.ndarray], v: dict[str, np.ndarray], src: str, dst: str) -> None:
    out[f"{dst}.weight"] = v[f"{src}/weight"]
    if f"{src}/bias" in v:
        out[f"{dst}.bias"] = v[f"{src}/bias"]


def _split(out: dict[str, np.ndarray], v: dict[str, np.ndarray], src: str, dsts: tuple[str, ...]) -> None:
    """A fused projection (rows stacked: query, key, value) back into separate layers. Whisper's
    key projection has no bias: CTranslate2 stores zeros there, which are dropped."""
    weights = np.split(v[f"{src}/weight"], len(dsts), axis=0)
    biases = np.split(v[f"{src}/bias"], len(dsts), axis=0)
    for dst, w, b in zip(dsts, weights, biases, strict=True):
        out[f"{dst}.weight"] = w
        if not dst.endswith(".key"):
            out[f"{dst}.bias"] = b
        elif np.any(b):
            raise ToukToukError(f"{src}: non-zero key bias; not an OpenAI Whisper model.")


def _attention_block(out: dict[str, np.ndarray], v: dict[str, np.ndarray], src: str, dst: str, cross: bool) -> None:
    _norm(out, v, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
    _split(out, v, f"{src}/self_attention/linear_0", (f"{dst}.attn.query", f"{dst}.attn.key", f"{dst}.attn.value"))
    _linear(out, v, f"{src}/self_attention/linear_1", f"{dst}.attn.out")
    if cross:
        _norm(out, v, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
        _linear(out, v, f"{src}/attention/linear_0", f"{dst}.cross_attn.query")
        _split(out, v, f"{src}/attention/linear_1", (f"{dst}.cross_attn.key", f"{dst}.cross_attn.value"))
        _linear(out, v, f"{src}/attention/linear_2", f"{dst}.cross_attn.out")
    _norm(out, v, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
    _linear(out, v, f"{src}/ffn/linear_0", f"{dst}.mlp.0")
    _linear(out, v, f"{src}/ffn/linear_1", f"{dst}.mlp.2")


def ct2_to_openai(variables: dict[str, np.ndarray]) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """(dims, state dict) in openai-whisper's naming, from CTranslate2 Whisper variables."""
    v = variables
    n_audio_layer, n_text_layer = _layers(v, "encoder"), _layers(v, "decoder")
    dims = {
        "n_mels": int(v["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(v["encoder/conv1/weight"].shape[0]),
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(v["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(v["decoder/embeddings/weight"].shape[1]),
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    out: dict[str, np.ndarray] = {}
    for conv in ("conv1", "conv2"):
        _linear(out, v, f"encoder/{conv}", f"encoder.{conv}")
    out["encoder.positional_embedding"] = v["encoder/position_encodings/encodings"]
    for i in range(n_audio_layer):
        _attention_block(out, v, f"encoder/layer_{i}", f"encoder.blocks.{i}", cross=False)
    _norm(out, v, "encoder/layer_norm", "encoder.ln_post")
    out["decoder.token_embedding.weight"] = v["decoder/embeddings/weight"]
    out["decoder.positional_embedding"] = v["decoder/position_encodings/encodings"]
    for i in range(n_text_layer):
        _attention_block(out, v, f"decoder/layer_{i}", f"decoder.blocks.{i}", cross=True)
    _norm(out, v, "decoder/layer_norm", "decoder.ln")
    return dims, out


def alignment_heads_dump(heads: list[list[int]], n_text_layer: int, n_text_head: int) -> bytes:
    """Alignment heads [[layer, head], …] in openai-whisper's encoding (gzip + base85 of a bool mask)."""
    mask = np.zeros((n_text_layer, n_text_head), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes(), mtime=0))


def convert_ct2_to_openai(model_dir: Path, out: Path) -> Path:
    """Write an openai-whisper checkpoint for the CTranslate2 model in `model_dir` (atomically)."""
    try:
        import torch
    except ImportError:
        raise ToukToukError(
            "converting to openai-whisper needs PyTorch; install the openai extra "
            "(.venv/bin/pip install -r requirements-openai.txt)."
        ) from None
    model_bin = model_dir / "model.bin"
    if not model_bin.is_file():
        raise ToukToukError(f"{model_dir}: no model.bin; is this a CTranslate2 Whisper model folder?")
    dims, state = ct2_to_openai(read_ct2_variables(model_bin))
    checkpoint: dict[str, Any] = {
        "dims": dims,
        # The packages hold float16; openai-whisper copies into float32 parameters when loading on CPU.
        "model_state_dict": {k: torch.from_numpy(a.copy()) for k, a in state.items()},
    }
    config = model_dir / "config.json"
    if config.is_file():
        heads = json.loads(config.read_text(encoding="utf-8")).get("alignment_heads")
        if heads:
            checkpoint["alignment_heads"] = alignment_heads_dump(heads, dims["n_text_layer"], dims["n_text_head"])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save(checkpoint, tmp)
    os.replace(tmp, out)
    return out


def load_openai_checkpoint(path: Path, device: str | None = None) -> Any:
    """Load a checkpoint with strict name checking and apply its alignment heads when it has them."""
    import torch
    import whisper

    with path.open("rb") as f:
        checkpoint = torch.load(f, map_location=device or "cpu", weights_only=True)
    model = whisper.Whisper(whisper.ModelDimensions(**checkpoint["dims"]))
    model.load_state_dict(checkpoint["model_state_dict"], strict=True)
    if checkpoint.get("alignment_heads"):
        model.set_alignment_heads(checkpoint["alignment_heads"])
    return model.to(device or "cpu")
