"""Every ``lens eval ...`` evaluation, against synthetic ground truth (and real photos where given).

Modules: :mod:`~lens.evaluation.common` (the shared ``--catalog / --products /
--scenes / --seed / --json`` convention, :class:`~lens.evaluation.common.EvalReport`),
:mod:`~lens.evaluation.retrieval`, :mod:`~lens.evaluation.colors`,
:mod:`~lens.evaluation.skin_tone`, :mod:`~lens.evaluation.body_type`,
:mod:`~lens.evaluation.text`, :mod:`~lens.evaluation.diversity`,
:mod:`~lens.evaluation.labels` and :mod:`~lens.evaluation.commands` (the
``lens eval`` parsers and handler).  See ``lens/evaluation/README.md``.
"""
