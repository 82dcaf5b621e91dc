"""A JupyterHub Spawner that delegates every server's lifecycle to a spawnkeeper service."""

from .spawner import SpawnkeeperError, SpawnkeeperSpawner

__all__ = ["SpawnkeeperSpawner", "SpawnkeeperError"]
__version__ = "0.1.0"
