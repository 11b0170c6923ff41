"""The client: WaveSpeed's task API for FLUX.2 [klein] 4B, sync and async, and nothing else.

- `_models`: what we ask for (`GenerationRequest`, every validation rule) and what the
  server says (`Prediction`); `_exceptions`: the error tree; `_generation`: one image.
- `_config`: environment, key and URLs; `_constants`: every timeout and size cap.
- `_envelope`: what an answer means (envelopes, error mapping, Retry-After);
  `_answers`: what it means for one task (outputs, images, bogus shapes);
  `_policy`: when to retry and when to poll. All pure.
- `_run`: one generation's clock and progress stages.
- `_base`: what both clients share; `_async_client`: the I/O loops (`_sync_client` is
  generated from it); `_deadline`: one request's overall deadline.
- `batch/`: the one runner for many images (`generate_many`), and `_pacing`: submits
  paced to the account's rate limit (given, or learned from 429s).
- `_ledger`: spend and the budget cap; `_metadata`: parameters embedded in image files.
- `_journal`: what the client needs from above (the gallery, a progress bar, a question)
  as protocols, and the three lazy imports that reach the real ones.
- `_envelope`: the server's answers in the client's terms; `_redact`: the key kept out
  of logs, messages and kept answers.

Imports nothing else of the package (but `_journal`'s three lazy edges), nor ipywidgets,
IPython or sqlite3 (tested).
"""

from klein_widget.client.batch._pacing import Pacer, RateLimit

__all__ = ["Pacer", "RateLimit"]
