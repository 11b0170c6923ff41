"""The block a teacher adds to ``jupyterhub_config.py`` (``klein gateway jupyterhub-config``):
the gateway as a Hub-managed service at ``/services/<name>/``, its roles, and where its
database, image store and WaveSpeed key live. The key is never written into the config: the
gateway reads it from a file (or the Hub passes its own ``$WAVESPEED_API_KEY`` on).

Example:
    >>> "/services/klein/" in jupyterhub_config(folder="/srv/klein")
    True
"""

from __future__ import annotations

import json
import sys
from urllib.parse import urlsplit

__all__ = ["jupyterhub_config"]


def jupyterhub_config(
    *,
    folder: str = "/srv/klein",
    name: str = "klein",
    port: int = 8800,
    url: str | None = None,
    upstream: str = "wavespeed",
    budget: str = "2.00",
    key_file: str | None = None,
    student_group: str | None = None,
    teacher_group: str | None = None,
    python: str = sys.executable,
) -> str:
    """The config block, as text (Python for ``jupyterhub_config.py``). ``url``: where the
    Hub, its proxy and students' servers reach the gateway (default on this machine)."""
    folder = folder.rstrip("/") or "/"
    command = [python, "-m", "klein_widget", "gateway", "serve", "--hub",
               "--db", f"{folder}/class.sqlite3", "--upstream", upstream,
               "--hub-budget", budget]  # fmt: skip
    if upstream != "emulator" or key_file:
        command += ["--key-file", key_file or f"{folder}/wavespeed.key"]
    url = url or f"http://127.0.0.1:{port}"
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        command += ["--host", "0.0.0.0"]  # reached from other machines or pods
    if student_group:
        command += ["--hub-group", student_group]
    if teacher_group:
        command += ["--hub-teacher-group", teacher_group]
    args = ",\n        ".join(json.dumps(part) for part in command)
    key_line = (
        f"# The WaveSpeed key: one line in {key_file or folder + '/wavespeed.key'} (chmod 600,\n"
        "# owned by the Hub's user); the gateway reads it at start, so it is in no config\n"
        "# and in no student's environment.\n"
        "# To pass the Hub's own $WAVESPEED_API_KEY on instead, drop --key-file and add\n"
        '#     "environment": {"WAVESPEED_API_KEY": os.environ["WAVESPEED_API_KEY"]},\n'
        if upstream != "emulator"
        else "# Upstream: the built-in emulator (a rehearsal: no key, images are drawn).\n"
    )
    return f"""\
# --- klein gateway: the class's WaveSpeed gateway as a Hub service ---------------------
# (printed by `klein gateway jupyterhub-config`). Students need no token: each one's
# server finds /services/{name}/ and signs in with its own Hub token. Hub admins are the
# teachers: they open /services/{name}/dashboard through the Hub's login.
# The class database is {folder}/class.sqlite3, its images {folder}/class-images/.
{key_line}c.JupyterHub.services.append({{
    "name": {json.dumps(name)},
    "url": {json.dumps(url)},
    "command": [
        {args},
    ],
    "oauth_no_confirm": True,
}})
# The gateway reads who a token belongs to, their admin flag and groups.
c.JupyterHub.load_roles.append(
    {{"name": "klein-gateway", "services": [{json.dumps(name)}], "scopes": ["read:users"]}}
)
# Students' servers may look the service up (that is how they find it).
c.JupyterHub.load_roles.append(
    {{"name": "user", "scopes": ["self", "read:services!service={name}"]}}
)
c.JupyterHub.load_roles.append(
    {{
        "name": "server",
        "scopes": [
            "users:activity!user",
            "access:servers!server",
            "read:services!service={name}",
        ],
    }}
)
# --- end of the klein gateway block ------------------------------------------------------
"""
