"""Sub-commands of the ``elimgym`` command line (one module each, see :mod:`elimgym.cli`)."""
