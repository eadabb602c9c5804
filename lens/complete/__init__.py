"""Complete The Look (issue 23): products that go with a scene.

``outfits`` builds compatibility ground truth from boxed scenes, ``model`` is the style embedding
(a frozen ImageNet backbone's intermediate layers, projections, global and attention-weighted local
distances), ``train`` trains it with the project's one training loop and measures it against a
visual-similarity baseline.  See this folder's README.
"""
