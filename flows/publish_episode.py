"""Deployment entry point for the `publish-episode` flow (see README, "Prefect")."""

from touktouk.orchestration.flow import publish_episode

__all__ = ["publish_episode"]

if __name__ == "__main__":
    import sys

    print(publish_episode(sys.argv[1]))
