"""What both local servers share (the emulator and the classroom gateway import it; it
imports neither, and of the package only the client).

* `_http`: HTTP plumbing: `Problem` (an error answer), WaveSpeed's `envelope`, the
  exception handlers that answer every error in it, bodies under a cap (`read_body`,
  `read_json`), the bearer token, image answers, TCP_NODELAY, and `ServedInThread`
  (uvicorn in a daemon thread; `bind`, `url_for`).
* `_wire`: WaveSpeed's wire format as a server writes it: a prediction's ``data``, the
  sync-mode timeout (code 5004), and the prompt optimizer's body checks.
"""
