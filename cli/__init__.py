"""The ``lens`` command (:mod:`cli.main`) and ``lens demo`` (:mod:`cli.demo`): the application layer."""
