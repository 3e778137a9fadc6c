"""Demo footage made on the spot: French speech from espeak-ng over a generated picture."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from touktouk.errors import ToukToukError

# An ESS interview in miniature, a few sentences long enough for 20-60 s clips.
DEMO_TEXT = (
    "Bonjour et bienvenue dans ToukTouk. Aujourd'hui, nous rencontrons Awa Diallo, "
    "fondatrice de la Ressourcerie du Canal à Paris. "
    "Awa, pourquoi avoir créé une ressourcerie ? "
    "Parce que chaque semaine, des tonnes d'objets encore utiles finissent à la benne. "
    "Nous les collectons, nous les réparons, et nous les revendons à petit prix dans le quartier. "
    "Surtout, nous formons des personnes éloignées de l'emploi aux métiers de la réparation. "
    "L'économie sociale et solidaire, pour moi, c'est ça : créer des emplois qui ont du sens, "
    "ici, avec les habitants. "
    "Combien de personnes travaillent avec vous aujourd'hui ? "
    "Nous sommes vingt-deux salariés, dont quinze en parcours d'insertion. "
    "L'an dernier, nous avons sauvé plus de cent tonnes d'objets, des meubles, des vélos, des livres. "
    "Et le plus beau, c'est de voir quelqu'un qui n'avait plus confiance en lui "
    "devenir le meilleur réparateur du quartier. "
    "Quel conseil donneriez-vous à quelqu'un qui veut se lancer ? "
    "Commencez petit, parlez à vos voisins, et ne restez jamais seul. "
    "Les collectivités, les associations et les entreprises du territoire ont toutes un rôle à jouer. "
    "Merci Awa. Merci à vous, et à bientôt sur ToukTouk."
)


def make_demo_footage(out: Path, *, text: str = DEMO_TEXT, width: int = 1280, height: int = 720) -> Path:
    """Write an MP4 of `text` spoken in French over a moving test picture."""
    if shutil.which("espeak-ng") is None:
        raise ToukToukError("espeak-ng is not installed; run 'make setup' (it installs espeak-ng) and try again.")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "fr", "-s", "150", "-w", str(wav), text], check=True, capture_output=True)
        subprocess.run(
            [
                "ffmpeg",
                "-nostdin",
                "-y",
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=s={width}x{height}:r=25",
                "-i",
                str(wav),
                "-shortest",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-ar",
                "48000",
                "-ac",
                "2",
                str(out),
            ],
            check=True,
        )
    return out
