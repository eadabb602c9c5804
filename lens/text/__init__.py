"""Text search: terms, Okapi BM25, MiniLM, the catalog's text index and the ``text`` source.

Modules: :mod:`~lens.text.terms` (tokenizer, item documents, the encoder
registry), :mod:`~lens.text.bm25` (BM25 over per-term arrays),
:mod:`~lens.text.minilm` (all-MiniLM-L6-v2 on onnxruntime or torch),
:mod:`~lens.text.index` (:class:`~lens.text.index.TextIndex`: BM25 + MiniLM
hybrid, crash-safe, synced with the store) and :mod:`~lens.text.source`
(the blender's ``text`` source).  See ``lens/text/README.md``.
"""
