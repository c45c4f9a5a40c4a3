"""``python -m houseedge`` runs the CLI."""

from houseedge.cli import main

main()
