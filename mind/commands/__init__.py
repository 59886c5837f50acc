"""Sub-commands of the `mind` CLI; each module exposes `register(subparsers)`."""
