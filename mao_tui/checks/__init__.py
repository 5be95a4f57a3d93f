"""A project's own checks (type-check, build, tests, lint), detected from its files.

One module per stack (``node``, ``python``, ``rust``, ``golang``, ``make``), each a ``detect(root)``
reading its files with a real parser; ``detect.py`` runs them all and orders the result;
``resolve.py`` decides between ``verify.yaml``, detection and the playbook's own commands;
``availability.py`` says why a check cannot run; ``excerpt.py`` trims output for a fix round.
See docs/verification-checks.md for every rule.
"""
