"""Many images at once: the one batch runner behind `generate_many`, `compare`,
``%klein -n`` and `resume`.

- `_batch_async`: the runner loop and `agenerate_many`, written once, awaited;
  `_batch_sync` is generated from it (``python scripts/unasync.py``; a test checks).
- `_runner`: the rate-limit gate, and how jobs run (`ThreadJobs`, `AsyncJobs`).
- `_plan`: what a batch will do and what it costs (pure); `_tally`: its books
  and how it runs (`BatchOptions`);
  `_result`: what it returns (`BatchResult`).
- `_concurrency`: how many at once (AIMD); `_pacing`: submits paced to the rate limit.

Imports no client module: the runner drives a client through a protocol
(`AsyncBatchClient`, and its generated twin).
"""
