"""Series and episode configuration: pydantic models and loaders with errors that name
the file, the field and what is expected."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from touktouk.errors import ConfigError
from touktouk.types import parse_timecode

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
HEX_COLOUR = r"^#[0-9A-Fa-f]{6}$"
DEFAULT_CONFIG = Path("config/touktouk.toml")
CLIP_PLATFORMS = ("youtube_shorts", "tiktok", "instagram_reels", "linkedin", "x")


def timecode_or_none(value: Any) -> float | None:
    """A config timecode ("00:01:30", "90.5" or a number of seconds) in seconds; None stays None."""
    if value is None:
        return None
    if isinstance(value, (str, int, float)):
        return parse_timecode(value)
    raise ValueError('expected a timecode such as "00:01:30" or a number of seconds')


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WhisperSettings(_Strict):
    backend: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    model: str = Field("base", description="Model name (tiny … large-v3, turbo) or a local folder")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = Field("auto", description="int8 on CPU, float16 on CUDA when 'auto'")
    beam_size: Annotated[int, Field(ge=1, le=10)] = 5
    vad: bool = True
    threads: Annotated[int, Field(ge=0, le=64)] = 0


class BrandSettings(_Strict):
    font: str = "DejaVu Sans"
    fonts_dir: str = Field("", description="Folder holding the font files; empty = system fonts")
    primary_colour: Annotated[str, Field(pattern=HEX_COLOUR)] = "#FFFFFF"
    highlight_colour: Annotated[str, Field(pattern=HEX_COLOUR)] = "#FFD400"
    logo: str = Field("", description="PNG logo laid over every clip; empty = no logo")
    logo_position: Literal["top-left", "top-right", "bottom-left", "bottom-right"] = "top-left"
    logo_width: Annotated[float, Field(gt=0, le=0.5)] = Field(0.12, description="Fraction of the frame width")
    logo_margin: Annotated[float, Field(ge=0, le=0.2)] = Field(0.03, description="Fraction of the frame width")
    intro: str = Field("", description="Video played before every clip; empty = none")
    outro: str = Field("", description="Video played after every clip; empty = none")


class ClipSettings(_Strict):
    auto_clips: Annotated[int, Field(ge=0, le=20)] = 3
    min_seconds: Annotated[float, Field(gt=0)] = 20.0
    max_seconds: Annotated[float, Field(gt=0)] = 60.0
    platforms: tuple[str, ...] = CLIP_PLATFORMS

    @field_validator("platforms")
    @classmethod
    def _known_platforms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for p in value:
            if p not in CLIP_PLATFORMS:
                raise ValueError(f"unknown clip platform '{p}'; choose from {', '.join(CLIP_PLATFORMS)}")
        return value

    @model_validator(mode="after")
    def _range(self) -> ClipSettings:
        if self.min_seconds >= self.max_seconds:
            raise ValueError("min_seconds must be below max_seconds")
        return self


class CaptionSettings(_Strict):
    """Caption rules and looks (README, Captions): reading speed, condensing, keyword emphasis."""

    max_cps: Annotated[float, Field(ge=10, le=30)] = Field(17.0, description="Reading speed, characters a second")
    fast_speech: Literal["verbatim", "strict"] = Field(
        "verbatim", description="verbatim: speech faster than max_cps keeps its words, shown as long as it can be"
    )
    condense: bool = Field(True, description="Leave out « euh », « ben », « je je » from captions too fast to read")
    emphasis_colour: Annotated[str, Field(pattern=r"^(#[0-9A-Fa-f]{6})?$")] = Field(
        "#4FD8FF", description="Colour of episode keywords in 9:16 and 1:1 captions; empty = no emphasis"
    )
    speaker_colours: dict[str, Annotated[str, Field(pattern=HEX_COLOUR)]] = Field(
        default_factory=dict,
        description='The active word in its speaker\'s colour in 9:16 and 1:1 captions ({ host = "#FFD400" }); '
        "speakers not listed: the brand's highlight colour",
    )


class RenderSettings(_Strict):
    # superfast: 1.4-1.5x less x264 work than veryfast for the same SSIM at CRF 20 under the platform
    # bit-rate caps (docs/benchmarks.md); the files are larger, and the platforms re-encode them anyway.
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"] = Field(
        "superfast", description="x264 speed preset of every encode; slower = smaller files, same quality"
    )
    crf: Annotated[int, Field(ge=0, le=51)] = 20
    reframe: bool = Field(True, description="9:16 and 1:1 crops follow the speaker's face; false = centre crop")
    covers: bool = Field(True, description="A cover image per clip: a chosen frame with the clip's title")
    thumbnails: Annotated[int, Field(ge=0, le=12)] = Field(4, description="Thumbnails per clip on the review page")
    youtube_master: bool = Field(True, description="Also render a YouTube-ready 1920x1080 master of the episode")


class SpeakerSettings(_Strict):
    """Who speaks when (README, Who speaks): from a shoot's mics, else from the voices in the mix."""

    diarize: bool = Field(True, description="Without mics, tell the speakers apart by their voices")
    max_speakers: Annotated[int, Field(ge=1, le=4)] = 4


class MulticamSettings(_Strict):
    """The multicam cut of a shoot with several cameras and a mic per person (README, Multicam)."""

    enabled: bool = Field(True, description="Cut between the cameras by who speaks; false = the host's camera only")
    min_shot_s: Annotated[float, Field(ge=0.5, le=30)] = Field(2.0, description="No shot shorter than this")
    max_shot_s: Annotated[float, Field(ge=4, le=600)] = Field(
        12.0, description="A shot on one speaker longer than this cuts away to the listener"
    )
    cutaway_s: Annotated[float, Field(ge=0.5, le=30)] = Field(2.5, description="How long a cut-away lasts at least")
    wide_after_s: Annotated[float, Field(ge=0.2, le=60)] = Field(
        1.5, description="Silence or crosstalk between turns this long goes to the wide camera"
    )
    lead_s: Annotated[float, Field(ge=0, le=2)] = Field(0.2, description="Cut this long before the next speaker starts")


class TemplateSettings(_Strict):
    """Override of a platform's French template; fields: {series} {title} {guest} {organisation}
    {cause} {hook} {episode} {season} {episode_url} {hashtags}."""

    title: str = ""
    text: str = ""


class WordFix(_Strict):
    """A misheard word (or words) and what was said: whole words, any case; `at` (a timecode)
    limits it to the occurrence said then."""

    wrong: Annotated[str, Field(min_length=1, max_length=200)]
    right: Annotated[str, Field(min_length=1, max_length=200)]
    at: float | None = None

    @field_validator("wrong", "right")
    @classmethod
    def _words(cls, value: str) -> str:
        if not value.split():
            raise ValueError("needs at least one word")
        return " ".join(value.split())

    @field_validator("at", mode="before")
    @classmethod
    def _timecode(cls, value: Any) -> float | None:
        return timecode_or_none(value)


class SeriesConfig(_Strict):
    series: str = "ToukTouk"
    series_slug: Annotated[str, Field(pattern=SLUG.pattern)] = "touktouk"
    language: str = "fr"
    store: str = "./published"
    endpoint_url: str = Field("", description="S3 endpoint for non-AWS providers; empty = AWS or AWS_ENDPOINT_URL")
    whisper: WhisperSettings = WhisperSettings()
    brand: BrandSettings = BrandSettings()
    clips: ClipSettings = ClipSettings()
    render: RenderSettings = RenderSettings()
    captions: CaptionSettings = CaptionSettings()
    speakers: SpeakerSettings = SpeakerSettings()
    multicam: MulticamSettings = MulticamSettings()
    templates: dict[str, TemplateSettings] = Field(default_factory=dict)
    notify_webhook: str = Field(
        "", description="URL that receives a JSON message when a proposal waits for review; empty = none"
    )
    glossary: tuple[WordFix, ...] = Field(
        (), description="Fixes for names that recur in every episode ([[glossary]] wrong/right)"
    )

    @field_validator("templates")
    @classmethod
    def _template_platforms(cls, value: dict[str, TemplateSettings]) -> dict[str, TemplateSettings]:
        for p in value:
            if p not in (*CLIP_PLATFORMS, "youtube"):
                raise ValueError(f"no platform '{p}'; choose from youtube, {', '.join(CLIP_PLATFORMS)}")
        return value


class Pick(_Strict):
    """A clip the producer chose: by timecode (start and end) or by quote (words said in the episode)."""

    start: float | None = None
    end: float | None = None
    title: str = ""
    quote: str = Field("", description="Words said in the episode; the clip is snapped to whole sentences")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _timecode(cls, value: Any) -> float | None:
        return timecode_or_none(value)

    @model_validator(mode="after")
    def _order(self) -> Pick:
        quote = bool(self.quote.strip())
        if quote and (self.start is not None or self.end is not None):
            raise ValueError("give either a quote or start and end, not both")
        if not quote and (self.start is None or self.end is None):
            raise ValueError('needs start and end timecodes, or a quote such as quote = "les mots dits"')
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end:g} s) must be after start ({self.start:g} s)")
        return self


def signed_seconds_or_none(value: Any) -> float | None:
    """A hand-set offset: seconds or a timecode, negative allowed ("-00:00:04.25", -4.25); None stays None."""
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return None if value is None else float(value)
    if isinstance(value, str):
        text = value.strip()
        sign = -1.0 if text.startswith("-") else 1.0
        return sign * parse_timecode(text.lstrip("+-"))
    raise ValueError('expected seconds or a timecode such as "-00:00:04.25"')


class ShootCamera(_Strict):
    """One camera of a shoot: its card-split files in order, who it frames, and an optional
    offset set by hand (the timeline time of its first sample) that skips sync by sound."""

    name: Annotated[str, Field(pattern=SLUG.pattern, max_length=40)]
    files: Annotated[tuple[str, ...], Field(min_length=1)]
    shows: tuple[str, ...] = ()
    offset: float | None = None

    @field_validator("offset", mode="before")
    @classmethod
    def _offset(cls, value: Any) -> float | None:
        return signed_seconds_or_none(value)


class ShootMic(_Strict):
    """One person's microphone; the mics (or the recorder) run on the timeline's clock."""

    speaker: Annotated[str, Field(min_length=1, max_length=40)]
    file: Annotated[str, Field(min_length=1)]


class Shoot(_Strict):
    """A real shoot ([shoot] in the episode file): paths relative to the episode file."""

    cameras: Annotated[tuple[ShootCamera, ...], Field(min_length=1)]
    mics: tuple[ShootMic, ...] = ()
    recorder: str = Field("", description="The recorder's mixed track; empty = the mics mixed")

    @model_validator(mode="after")
    def _unique(self) -> Shoot:
        names = [c.name for c in self.cameras]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"two cameras are named '{name}'; give each camera its own name")
        speakers = [m.speaker for m in self.mics]
        for speaker in speakers:
            if speakers.count(speaker) > 1:
                raise ValueError(f"two mics are given for speaker '{speaker}'; one mic per speaker")
        return self


class EpisodeConfig(_Strict):
    season: Annotated[int, Field(ge=1, le=99)] = 1
    number: Annotated[int, Field(ge=0, le=999)]
    slug: Annotated[str, Field(pattern=SLUG.pattern, max_length=60)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    guest: str = ""
    organisation: str = ""
    cause: str = ""
    hashtags: tuple[str, ...] = ()
    links: dict[str, str] = {}
    picks: tuple[Pick, ...] = ()
    # The producer's decisions (README, Review and approval).
    fixes: tuple[WordFix, ...] = ()
    drop: tuple[str, ...] = ()
    titles: dict[str, str] = {}
    # The real shoot (README, Real shoots): published when no footage file is given.
    shoot: Shoot | None = None
    # Display names of the speakers, by id: the mics' speaker names ("host", "guest"), or S1, S2…
    speakers: dict[Annotated[str, Field(min_length=1, max_length=40)], str] = {}

    @property
    def episode_id(self) -> str:
        return f"s{self.season:02d}e{self.number:02d}-{self.slug}"


def _describe_errors(path: Path, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(file)"
        msg = err["msg"]
        if err["type"] == "string_pattern_mismatch" and "slug" in where:
            msg = "must be lower-case letters, digits and dashes (e.g. 'marie-dupont')"
        elif err["type"] == "extra_forbidden":
            msg = "is not a known field (check its spelling)"
        problems.append(f"field '{where}' {msg}" if not msg.startswith("field") else msg)
    return f"{path}: " + "; ".join(problems) + "."


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: {what} file not found; check the path (see config/ for examples).")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax at that line.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8.") from None


def load_series(path: Path | str | None = None) -> SeriesConfig:
    """Load config/touktouk.toml; no file at the default path means the embedded defaults."""
    if path is None:
        if not DEFAULT_CONFIG.is_file():
            return SeriesConfig()
        path = DEFAULT_CONFIG
    path = Path(path)
    data = _read_toml(path, "series config")
    try:
        return SeriesConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe_errors(path, exc)) from None


def load_episode(path: Path | str) -> EpisodeConfig:
    path = Path(path)
    data = _read_toml(path, "episode")
    try:
        return EpisodeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe_errors(path, exc)) from None


def episode_from_footage(footage: Path) -> EpisodeConfig:
    """An episode identity for footage published without an episode file."""
    # Undecodable bytes in a file name arrive as lone surrogates; make them printable first.
    name = footage.stem.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-") or "episode"
    return EpisodeConfig(number=0, slug=stem, title=name[:200] or "Episode")
