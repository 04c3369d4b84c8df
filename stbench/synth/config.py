"""The strict config of the synthetic world: what decides its bytes."""

from __future__ import annotations

from dataclasses import dataclass, field

from stbench.config import check_fields

__all__ = ["WorldConfig"]


@dataclass(frozen=True)
class WorldConfig:
    """Which synthetic world :func:`stbench.synth.world.generate_world` writes.

    Same config => byte-identical files (how many processes render it does not matter).

    Attributes:
        preset: ``small`` (seconds, for tests), ``default`` (the demo), ``benchmark`` (one
            scene and three webcams per site, the leaderboard) or ``large`` (a 1,000-photo
            stress scene) (:data:`stbench.synth.world.PRESETS`).
        seed: the world seed.
        webcams: also write the AMOS-layout webcams (``stbench.synth.webcams``).
    """

    preset: str = "default"
    seed: int = field(default=0, metadata={"min": 0})
    webcams: bool = True

    def __post_init__(self) -> None:
        check_fields(self)
