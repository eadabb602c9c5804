"""The Flask app: ``web.app.create_app`` (the factory), blueprints for the API and the upload page.

Importing ``web`` loads nothing; :mod:`web.app` loads the pipeline.  See ``web/README.md``.
"""
